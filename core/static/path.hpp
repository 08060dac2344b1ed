// brisk — request paths of static routes: percent-decoded once, dot
// segments removed, never above the root.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace brisk::files {

struct NormalizedPath {
    enum class Status : std::uint8_t {
        ok,
        bad_request,  // malformed percent-encoding or an encoded NUL: 400
        not_found,    // a name no file can have ('/' or '\' inside a segment, too long): 404
    };
    Status status = Status::ok;
    /** Bytes written to `out`: "/" or "/a/b" or "/a/b/", always starting with '/'. */
    std::size_t len = 0;
    /** The path names a directory: it ended in '/', "." or "..", or is the root. */
    bool dir = false;
    /** A segment of the result starts with '.' (a dotfile or dot-directory). */
    bool hidden = false;
};

/**
 * Normalises the raw (still percent-encoded) request path `raw`, which
 * starts with '/' (an empty `raw` is the root). Segments are split at the
 * literal '/' only; each is percent-decoded once, so "%2F" and "%5C" are
 * bytes of a name — and, since no file name holds them, a 404 — and never
 * separators; "%252e" stays the literal "%2e". "." and ".." (also as
 * "%2e"/"%2e%2e") are removed as in RFC 3986 5.2.4, and ".." at the root
 * stays at the root. Empty segments ("//") collapse. Writes at most `cap`
 * bytes to `out`; a longer result is `not_found`.
 */
NormalizedPath normalize_path(std::string_view raw, char* out, std::size_t cap) noexcept;

/**
 * Appends `path` to `out` percent-encoded for a URL (a Location field, a
 * link): unreserved bytes and "/!$&'()*+,;=:@" stay, everything else is %XX.
 */
void encode_path(std::string_view path, std::string& out);

}  // namespace brisk::files
