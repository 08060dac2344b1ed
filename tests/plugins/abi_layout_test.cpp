// brisk — the plugin ABI's layout, checked by the C++ compiler against the
// numbers of abi_layout_expected.h, and compared at run time with what the C
// compiler saw (abi_layout.c).
#include "abi_layout_expected.h"

#include <catch2/catch.hpp>

#include <cstddef>
#include <type_traits>
#include <vector>

#if !defined(__x86_64__) || !defined(__LP64__)
#error "the expected layout is written for x86-64 Linux (LP64)"
#endif

#define BRISK_CHECK_SIZE(type, size, align)                             \
    static_assert(sizeof(type) == (size), "sizeof(" #type ") changed"); \
    static_assert(alignof(type) == (align), "alignof(" #type ") changed");
BRISK_ABI_SIZES(BRISK_CHECK_SIZE)

#define BRISK_CHECK_OFFSET(type, field, offset) \
    static_assert(offsetof(type, field) == (offset), "offsetof(" #type ", " #field ") changed");
BRISK_ABI_OFFSETS(BRISK_CHECK_OFFSET)

#define BRISK_CHECK_CONSTANT(name, value) static_assert((name) == (value), #name " changed");
BRISK_ABI_CONSTANTS(BRISK_CHECK_CONSTANT)

// Plain C data on both sides: no C++ type can have slipped in.
#define BRISK_CHECK_PLAIN(type, size, align)                                             \
    static_assert(std::is_standard_layout_v<type> && std::is_trivially_copyable_v<type>, \
                  #type " must stay plain C data");
BRISK_ABI_SIZES(BRISK_CHECK_PLAIN)

namespace {

std::vector<std::size_t> cxx_sizes() {
    std::vector<std::size_t> v;
#define BRISK_PUT_SIZE(type, size, align) \
    v.push_back(sizeof(type));            \
    v.push_back(alignof(type));
    BRISK_ABI_SIZES(BRISK_PUT_SIZE)
#undef BRISK_PUT_SIZE
    return v;
}

std::vector<std::size_t> cxx_offsets() {
    std::vector<std::size_t> v;
#define BRISK_PUT_OFFSET(type, field, offset) v.push_back(offsetof(type, field));
    BRISK_ABI_OFFSETS(BRISK_PUT_OFFSET)
#undef BRISK_PUT_OFFSET
    return v;
}

}  // namespace

TEST_CASE("plugin ABI: the C and C++ compilers agree on every size and offset", "[plugins][abi]") {
    const std::vector<std::size_t> sizes = cxx_sizes();
    std::vector<std::size_t> c_sizes(sizes.size() + 4);
    c_sizes.resize(brisk_abi_c_sizes(c_sizes.data(), c_sizes.size()));
    CHECK(c_sizes == sizes);

    const std::vector<std::size_t> offsets = cxx_offsets();
    std::vector<std::size_t> c_offsets(offsets.size() + 4);
    c_offsets.resize(brisk_abi_c_offsets(c_offsets.data(), c_offsets.size()));
    CHECK(c_offsets == offsets);
}

TEST_CASE("plugin ABI: structs have no padding holes", "[plugins][abi]") {
    // Sum of the field sizes equals the struct size: nothing implicit a
    // compiler for another language could lay out differently.
    CHECK(sizeof(brisk_str) == sizeof(const char*) + sizeof(std::uint64_t));
    CHECK(sizeof(brisk_header) == 2 * sizeof(brisk_str));
    // 1.2 appended the TLS fields after the request's reserved slots.
    CHECK(offsetof(brisk_request, reserved) + sizeof(brisk_request::reserved) == offsetof(brisk_request, tls));
    CHECK(offsetof(brisk_request, alpn) + sizeof(brisk_request::alpn) == sizeof(brisk_request));
    // 1.1 appended eighteen functions after the host table's reserved slots.
    CHECK(offsetof(brisk_host_api, reserved) + sizeof(brisk_host_api::reserved) == offsetof(brisk_host_api, suspend));
    CHECK(offsetof(brisk_host_api, last_error) + sizeof(brisk_host_api::last_error) == sizeof(brisk_host_api));
    // 1.1 appended stopping after the descriptor's reserved slots.
    CHECK(offsetof(brisk_plugin_descriptor, reserved) + sizeof(brisk_plugin_descriptor::reserved) ==
          offsetof(brisk_plugin_descriptor, stopping));
    CHECK(offsetof(brisk_plugin_descriptor, stopping) + sizeof(brisk_plugin_descriptor::stopping) ==
          sizeof(brisk_plugin_descriptor));
}
