/*
 * brisk — the plugin ABI's layout, checked by a C compiler (C11, for
 * _Static_assert; plugin_abi.h itself is C99). The same numbers are checked
 * as C++ in abi_layout_test.cpp, which also compares the two at run time.
 */
#include "abi_layout_expected.h"

#if !defined(__x86_64__) || !defined(__LP64__)
#error "the expected layout is written for x86-64 Linux (LP64)"
#endif

#define BRISK_CHECK_SIZE(type, size, align)                              \
    _Static_assert(sizeof(type) == (size), "sizeof(" #type ") changed"); \
    _Static_assert(_Alignof(type) == (align), "alignof(" #type ") changed");
BRISK_ABI_SIZES(BRISK_CHECK_SIZE)

#define BRISK_CHECK_OFFSET(type, field, offset) \
    _Static_assert(offsetof(type, field) == (offset), "offsetof(" #type ", " #field ") changed");
BRISK_ABI_OFFSETS(BRISK_CHECK_OFFSET)

#define BRISK_CHECK_CONSTANT(name, value) _Static_assert((name) == (value), #name " changed");
BRISK_ABI_CONSTANTS(BRISK_CHECK_CONSTANT)

_Static_assert(BRISK_PLUGIN_ABI_MAJOR == 1, "a new major ABI renames the entry point: update these tests");

size_t brisk_abi_c_sizes(size_t* out, size_t cap) {
    size_t n = 0;
#define BRISK_PUT_SIZE(type, size, align) \
    if (n + 2 <= cap) {                   \
        out[n++] = sizeof(type);          \
        out[n++] = _Alignof(type);        \
    }
    BRISK_ABI_SIZES(BRISK_PUT_SIZE)
#undef BRISK_PUT_SIZE
    return n;
}

size_t brisk_abi_c_offsets(size_t* out, size_t cap) {
    size_t n = 0;
#define BRISK_PUT_OFFSET(type, field, offset) \
    if (n < cap) out[n++] = offsetof(type, field);
    BRISK_ABI_OFFSETS(BRISK_PUT_OFFSET)
#undef BRISK_PUT_OFFSET
    return n;
}
