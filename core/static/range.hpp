// brisk — the Range field (RFC 9110 14.2): byte ranges only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brisk::files {

struct ByteRange {
    std::uint64_t first;
    std::uint64_t last;  // inclusive
    std::uint64_t length() const noexcept { return last - first + 1; }
};

/** More ranges than this in one request: the field is ignored (the whole file is sent). */
inline constexpr std::size_t kMaxRanges = 32;

struct RangeSet {
    enum class Kind : std::uint8_t {
        ignore,         // no valid byte-range field: send the whole representation (200)
        satisfiable,    // 206 with `ranges`
        unsatisfiable,  // 416 with "Content-Range: bytes */size"
    };
    Kind kind = Kind::ignore;
    std::size_t count = 0;
    ByteRange ranges[kMaxRanges];
};

/**
 * Parses `value` (the field value, "bytes=0-99, -50") against a
 * representation of `size` bytes. Open-ended ranges ("500-") and last
 * positions past the end are clamped; suffix ranges ("-50") take the last
 * bytes. Unsatisfiable ranges in a list with satisfiable ones are dropped.
 * Syntax errors and units other than bytes are `ignore`, as RFC 9110 allows.
 * Overlapping or adjacent ranges are coalesced (sorted then), so a client
 * cannot make the answer larger than the file by much.
 */
RangeSet parse_range(std::string_view value, std::uint64_t size) noexcept;

}  // namespace brisk::files
