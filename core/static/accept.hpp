// brisk — Accept-Encoding (RFC 9110 12.5.3) and its q-values.
#pragma once

#include <cstdint>
#include <string_view>

namespace brisk::files {

/** Content codings brisk can send, in the order of its preference on a tie. */
enum class Encoding : std::uint8_t { br = 0, zstd = 1, gzip = 2, identity = 3 };
inline constexpr unsigned kEncodings = 4;

/** "br", "zstd", "gzip", "identity". */
std::string_view encoding_name(Encoding e) noexcept;
/** File suffix of a precompressed sibling: ".br", ".zst", ".gz"; empty for identity. */
std::string_view encoding_suffix(Encoding e) noexcept;
/** "br" / "zst" / "zstd" / "gz" / "gzip" -> the coding; false for anything else. */
bool encoding_from_name(std::string_view name, Encoding& out) noexcept;

/**
 * Parses a qvalue ("1", "0.5", "0.125", "1.000") into thousandths. False for
 * anything else (more than three decimals, > 1, other characters).
 */
bool parse_qvalue(std::string_view text, std::uint16_t& out) noexcept;

/** What a request accepts: the q-value (0..1000) of each coding. */
struct AcceptEncoding {
    std::uint16_t q[kEncodings] = {0, 0, 0, 1000};  // no field: identity only

    std::uint16_t of(Encoding e) const noexcept { return q[static_cast<unsigned>(e)]; }
};

/**
 * Parses an Accept-Encoding value. Codings brisk does not know are skipped;
 * "*" gives its q-value to every coding not listed; "x-gzip" is gzip;
 * identity is acceptable unless refused by "identity;q=0" or by "*;q=0"
 * without an identity entry — when not named, with the lowest q-value
 * (0.001), so that any coding the client named is preferred to it.
 * Elements with a malformed q-value are skipped.
 */
AcceptEncoding parse_accept_encoding(std::string_view value) noexcept;

/**
 * The coding to send among `available` (a bit per Encoding; identity is
 * always available): the highest q-value above 0; on a tie, a coding in
 * `preferred` (precompressed files) first, then br, zstd, gzip, identity.
 * Identity when nothing acceptable is available.
 */
Encoding choose_encoding(const AcceptEncoding& accept, unsigned available, unsigned preferred = 0) noexcept;

constexpr unsigned bit(Encoding e) noexcept { return 1u << static_cast<unsigned>(e); }

}  // namespace brisk::files
