#!/usr/bin/env bash
# brisk — runs one libFuzzer harness.
#
#   tests/fuzz/fuzz.sh NAME SECONDS [--merge] [extra libFuzzer flags...]
#
# NAME is parser, chunked, path, range, accept, config or connection.
# Configures and builds build-fuzz/ with clang and -DBRISK_FUZZ=ON when
# needed, then fuzzes for SECONDS with tests/fuzz/http.dict, starting from
# tests/fuzz/corpus/NAME. New inputs go to build-fuzz/fuzz/work/NAME, crashes
# to build-fuzz/fuzz/crashes/NAME. With --merge, the inputs that add coverage
# are merged back into tests/fuzz/corpus/NAME afterwards (-merge=1), so the
# corpus in the tree stays minimal (files named crash-* are kept as they are).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="${BRISK_FUZZ_BUILD:-$root/build-fuzz}"

if [[ $# -lt 2 ]]; then
  sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
name=$1 seconds=$2
shift 2
merge=0
if [[ ${1:-} == --merge ]]; then merge=1; shift; fi

case $name in
  parser|chunked|path|range|accept|config|connection) ;;
  *) echo "fuzz.sh: unknown harness '$name'" >&2; exit 2 ;;
esac

if [[ ! -f $build/build.ninja ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
        -DBRISK_FUZZ=ON "${launcher[@]}"
fi
cmake --build "$build" -j2 --target "fuzz_$name"

work="$build/fuzz/work/$name"
crashes="$build/fuzz/crashes/$name"
corpus="$here/corpus/$name"
mkdir -p "$work" "$crashes"

max_len=4096
[[ $name == config || $name == connection ]] && max_len=16384

status=0
(cd "$crashes" && "$build/fuzz/fuzz_$name" -dict="$here/http.dict" -max_total_time="$seconds" \
   -max_len=$max_len -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
   -artifact_prefix="$crashes/" "$@" "$work" "$corpus") || status=$?

if [[ $merge == 1 ]]; then
  # Minimal set of the tree's corpus plus what this run found. Files named
  # crash-* are regression inputs: kept as they are, never merged away.
  fresh="$build/fuzz/merge/$name"
  rm -rf "$fresh" && mkdir -p "$fresh" "$fresh.in"
  find "$corpus" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$fresh.in"/ \;
  "$build/fuzz/fuzz_$name" -merge=1 -max_len=$max_len "$fresh" "$fresh.in" "$work"
  find "$corpus" -maxdepth 1 -type f ! -name 'crash-*' -delete
  cp "$fresh"/* "$corpus"/
  rm -rf "$fresh.in"
  echo "fuzz.sh: $(ls "$corpus" | wc -l) inputs in $corpus"
fi
exit $status
