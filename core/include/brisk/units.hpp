// brisk — durations and sizes as people write them in flags and config files.
//
// Durations: a sequence of <integer><unit> with units h, m, s, ms, largest
// first and each at most once ("10s", "500ms", "1m30s", "1h"). A plain integer
// is refused ("10" could mean seconds or milliseconds) except "0", which every
// timeout reads as "no limit". At most `max_duration`.
//
// Sizes: plain bytes ("1024"), IEC units ("8KiB", "4MiB", "1GiB", "1TiB") or
// nginx-style single letters in either case ("8k", "4M", "1g", "1t"), all
// binary (k = 1024). "B" is accepted as a unit of one byte. Decimal units
// ("KB", "MB") are refused as ambiguous.
//
// Neither accepts signs, fractions, spaces or anything else around the
// number: a typo is an error, not a surprise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "brisk/config.hpp"

namespace brisk {

/** The longest duration accepted: one year, far beyond any sensible timeout. */
inline constexpr Duration max_duration = std::chrono::hours(24 * 365);

/**
 * Parses a duration ("500ms", "10s", "2m", "1h", "1m30s", "0"). Returns false
 * and sets `error` to a one-line reason naming the input.
 */
bool parse_duration(std::string_view text, Duration& out, std::string& error);

/**
 * Parses a size in bytes ("1024", "8KiB", "4MiB", "1GiB", "8k", "4m", "1g").
 * Returns false and sets `error` to a one-line reason naming the input.
 */
bool parse_size(std::string_view text, std::uint64_t& out, std::string& error);

/** Formats a duration so parse_duration reads it back: "0", "250ms", "60s", "10m", "1h", "7m30s". */
std::string format_duration(Duration d);

/** Formats a size so parse_size reads it back: "0", "1000", "8KiB", "4MiB", "1GiB". */
std::string format_size(std::uint64_t bytes);

}  // namespace brisk
