#!/usr/bin/env bash
# brisk — builds plugins outside the tree against an installed brisk, the way
# an author does:
#   1. cmake --install BUILD --prefix TMP
#   2. the 3-line CMake project of tests/plugins/out_of_tree/ (find_package(BriskPlugin)
#      + brisk_add_plugin) configured and built against TMP, warnings as errors
#   3. the same project against the build tree itself (CMAKE_PREFIX_PATH=BUILD_DIR), uninstalled
#   4. examples/c-plugin/greet.c built by hand with `pkg-config brisk-plugin`
#   5. both .so files export brisk_plugin_entry_v1 only, and answer through the
#      installed fake host (plugin_testing.hpp)
#
#   out_of_tree_test.sh BUILD_DIR SOURCE_DIR [CMAKE [GENERATOR [CC [CXX]]]]
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cmake=${3:-cmake}
generator=${4:-Ninja}
cc=${5:-cc}
cxx=${6:-c++}
warnings="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/brisk-oot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

step() { echo "== out-of-tree: $*"; }

step "install $build into $prefix"
unset DESTDIR
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
for f in include/brisk/plugin_abi.h include/brisk/plugin.hpp include/brisk/plugin_testing.hpp \
         share/cmake/BriskPlugin/BriskPluginConfig.cmake share/cmake/BriskPlugin/BriskPluginConfigVersion.cmake \
         share/cmake/BriskPlugin/BriskPlugin.cmake share/pkgconfig/brisk-plugin.pc share/man/man7/brisk-plugin.7; do
    [ -f "$prefix/$f" ] || { echo "out-of-tree: $f was not installed" >&2; exit 1; }
done

step "configure and build tests/plugins/out_of_tree against the install"
"$cmake" -G "$generator" -S "$src/tests/plugins/out_of_tree" -B "$tmp/shout" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$warnings" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
"$cmake" --build "$tmp/shout" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
shout="$tmp/shout/plugins/libshout.so"
[ -f "$shout" ] || { echo "out-of-tree: $shout was not built" >&2; exit 1; }

step "configure and build tests/plugins/out_of_tree against the build tree, uninstalled"
"$cmake" -G "$generator" -S "$src/tests/plugins/out_of_tree" -B "$tmp/shout-build-tree" \
    -DCMAKE_PREFIX_PATH="$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$warnings" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/configure-tree.log" || { cat "$tmp/configure-tree.log"; exit 1; }
"$cmake" --build "$tmp/shout-build-tree" >"$tmp/build-tree.log" || { cat "$tmp/build-tree.log"; exit 1; }
[ -f "$tmp/shout-build-tree/plugins/libshout.so" ] ||
    { echo "out-of-tree: libshout.so was not built against the build tree" >&2; exit 1; }

step "build examples/c-plugin/greet.c with pkg-config"
export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
read -r -a cflags <<<"$(pkg-config --cflags brisk-plugin)"
read -r -a plugin_cflags <<<"$(pkg-config --variable=plugin_cflags brisk-plugin)"
read -r -a plugin_ldflags <<<"$(pkg-config --variable=plugin_ldflags brisk-plugin)"
[ "$(pkg-config --modversion brisk-plugin)" = "$(sed -n 's/^\([0-9]*\.[0-9]*\) .*/\1/p' "$src/tests/plugins/abi_fingerprint.txt")" ] ||
    { echo "out-of-tree: brisk-plugin.pc has version $(pkg-config --modversion brisk-plugin)" >&2; exit 1; }
greet="$tmp/libgreet.so"
# shellcheck disable=SC2086
"$cc" -std=c99 $warnings "${cflags[@]}" "${plugin_cflags[@]}" "$src/examples/c-plugin/greet.c" \
    "${plugin_ldflags[@]}" -o "$greet"

step "exported symbols"
for so in "$shout" "$tmp/shout-build-tree/plugins/libshout.so" "$greet"; do
    exports=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
    if [ "$exports" != "brisk_plugin_entry_v1 " ]; then
        echo "out-of-tree: $so exports '$exports', expected brisk_plugin_entry_v1 only" >&2
        exit 1
    fi
done

step "load both through the installed fake host"
# shellcheck disable=SC2086
"$cxx" -std=c++20 $warnings "${cflags[@]}" "$src/tests/plugins/out_of_tree/check_plugins.cpp" -o "$tmp/check_plugins" -ldl
"$tmp/check_plugins" "$shout" "$greet"
