// brisk — request-head parser. A pure function over a byte range: the
// request line, then one field line at a time, then the framing rules of
// RFC 9112 section 6 over what the fields said.
#include "http/parser.hpp"

#include "http/chars.hpp"
#include "sanitizer.hpp"

#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace brisk::http {
namespace {

struct Tables {
    bool token[256];
    bool value[256];  // field-vchar, SP, HTAB (RFC 9110 5.5)
    bool host[256];
    bool ows[256];
    constexpr Tables() : token(), value(), host(), ows() {
        for (int c = 0; c < 256; ++c) {
            auto u = static_cast<unsigned char>(c);
            token[c] = is_tchar(static_cast<char>(u));
            value[c] = is_field_char(static_cast<char>(u));
            host[c] = is_unreserved_or_sub_delim(static_cast<char>(u));  // reg-name; '%' is checked apart
            ows[c] = is_ows(static_cast<char>(u));
        }
    }
};
constexpr Tables kTables;

inline bool is_token(char c) noexcept { return kTables.token[static_cast<unsigned char>(c)]; }

#if defined(__SSE2__) && !BRISK_ASAN
#define BRISK_SIMD_TAIL 1
#endif

#ifdef __SSE2__
// Scans [p, end) 16 bytes at a time for the first byte `bad_mask(x)` flags,
// showing `seen(x, at, bits)` each block with the bits of the bytes before
// that one. Loads stay inside the range, except that a last partial block is
// loaded whole when it cannot cross into the next page (hardware-safe; the
// bytes past `end` are masked off). Sanitizer builds never read past `end`,
// so tests that end the input at a guard page check the scalar tail too.
template <class BadMask, class Seen>
const char* simd_scan(const char* p, const char* end, BadMask bad_mask, Seen seen) noexcept {
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if (int m = _mm_movemask_epi8(bad_mask(x))) {
            const unsigned at = static_cast<unsigned>(__builtin_ctz(static_cast<unsigned>(m)));
            seen(x, p, (1u << at) - 1);
            return p + at;
        }
        seen(x, p, 0xffffu);
        p += 16;
    }
#ifdef BRISK_SIMD_TAIL
    if (p < end && (reinterpret_cast<std::uintptr_t>(p) & 4095) <= 4096 - 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        unsigned m = static_cast<unsigned>(_mm_movemask_epi8(bad_mask(x)));
        m &= (1u << (end - p)) - 1;
        const auto at = m ? static_cast<unsigned>(__builtin_ctz(m)) : static_cast<unsigned>(end - p);
        seen(x, p, (1u << at) - 1);
        return p + at;
    }
#endif
    return p;
}
#endif

// First byte in [p, end) that may not appear in a field value (a CTL other
// than HTAB, or DEL).
const char* skip_value(const char* p, const char* end) noexcept {
#ifdef __SSE2__
    p = simd_scan(
        p, end,
        [](__m128i x) {
            const __m128i ctl =
                _mm_and_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)), _mm_cmpgt_epi8(x, _mm_set1_epi8(-1)));
            return _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')),
                                    _mm_or_si128(ctl, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))));
        },
        [](__m128i, const char*, unsigned) {});
#endif
    while (p < end && kTables.value[static_cast<unsigned char>(*p)]) ++p;
    return p;
}

// First byte in [p, end) that ends a request-target: anything outside
// VCHAR (SP, CTL, DEL, non-ASCII), or '#' (a fragment is never sent).
// `query` is set to the first '?' before it, if there is one.
const char* skip_target(const char* p, const char* end, const char*& query) noexcept {
#ifdef __SSE2__
    // Signed compare: bytes >= 0x80 are negative and so below 0x21 too.
    p = simd_scan(
        p, end,
        [](__m128i x) {
            return _mm_or_si128(
                _mm_cmplt_epi8(x, _mm_set1_epi8(0x21)),
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)), _mm_cmpeq_epi8(x, _mm_set1_epi8('#'))));
        },
        [&query](__m128i x, const char* at, unsigned before) {
            const auto q = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('?')))) & before;
            if (q && !query) query = at + __builtin_ctz(q);
        });
#endif
    while (p < end) {
        auto c = static_cast<unsigned char>(*p);
        if (c < 0x21 || c >= 0x7f || c == '#') break;
        if (c == '?' && !query) query = p;
        ++p;
    }
    return p;
}

inline std::size_t skip_empty_lines(const char* buf, std::size_t len) noexcept {
    if (len == 0 || buf[0] != '\r') return 0;  // nearly always
    std::size_t i = 0;
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n') i += 2;
    return i;
}

bool parse_method(std::string_view m, Method& out) noexcept {
    switch (m.size()) {
    case 3:
        if (m == "GET") {
            out = Method::get;
            return true;
        }
        if (m == "PUT") {
            out = Method::put;
            return true;
        }
        return false;
    case 4:
        if (m == "HEAD") {
            out = Method::head;
            return true;
        }
        if (m == "POST") {
            out = Method::post;
            return true;
        }
        return false;
    case 5:
        if (m == "PATCH") {
            out = Method::patch;
            return true;
        }
        if (m == "TRACE") {
            out = Method::trace;
            return true;
        }
        return false;
    case 6:
        if (m == "DELETE") {
            out = Method::delete_;
            return true;
        }
        return false;
    case 7:
        if (m == "OPTIONS") {
            out = Method::options;
            return true;
        }
        if (m == "CONNECT") {
            out = Method::connect;
            return true;
        }
        return false;
    default:
        return false;
    }
}

bool is_hex(char c) noexcept { return hex_value(c) >= 0; }

#ifdef BRISK_SIMD_TAIL
// The bytes of x that are ASCII digits.
__m128i digit_bytes(__m128i x) noexcept {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
}

// The bytes of x that are ASCII letters or digits, or `extra`. OR-ing 0x20
// folds upper case onto lower, and nothing else onto a letter.
__m128i alnum_bytes(__m128i x, __m128i extra) noexcept {
    const __m128i folded = _mm_or_si128(x, _mm_set1_epi8(0x20));
    const __m128i letter =
        _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(folded, _mm_set1_epi8('z' + 1)));
    return _mm_or_si128(_mm_or_si128(letter, digit_bytes(x)), extra);
}

// The common Host in one 16-byte load: letters, digits, '.' and '-', then
// perhaps ':' and digits. True when `h` is such a host; false means "ask
// the full check", not "invalid".
bool plain_host(std::string_view h) noexcept {
    const std::size_t n = h.size();
    if (n == 0 || n > 16 || (reinterpret_cast<std::uintptr_t>(h.data()) & 4095) > 4096 - 16) return false;
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h.data()));
    const __m128i name =
        alnum_bytes(x, _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')), _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))));
    const unsigned live = n == 16 ? 0xffffu : (1u << n) - 1;
    const unsigned names = static_cast<unsigned>(_mm_movemask_epi8(name)) & live;
    const unsigned colons = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')))) & live;
    if (colons == 0) return names == live;
    const unsigned at = static_cast<unsigned>(__builtin_ctz(colons));
    const unsigned before = (1u << at) - 1, after = live & ~((2u << at) - 1);
    const unsigned digits = static_cast<unsigned>(_mm_movemask_epi8(digit_bytes(x)));
    return (names & before) == before && (digits & after) == after;
}
#endif

// The letters, digits and '-' that start a field name, 16 bytes at a time:
// most names are nothing else. The caller's head ends with CR LF CR LF, so
// the scan stops inside it; a load never crosses into the next page.
const char* skip_plain_name(const char* p) noexcept {
#ifdef BRISK_SIMD_TAIL
    while ((reinterpret_cast<std::uintptr_t>(p) & 4095) <= 4096 - 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto other =
            static_cast<unsigned>(_mm_movemask_epi8(alnum_bytes(x, _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))))) ^ 0xffffu;
        if (other) return p + __builtin_ctz(other);
        p += 16;
    }
#endif
    return p;
}

// Host = uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2). Empty is valid.
bool valid_host(std::string_view h) noexcept {
#ifdef BRISK_SIMD_TAIL
    if (plain_host(h)) return true;
#endif
    std::size_t i = 0;
    if (!h.empty() && h[0] == '[') {
        std::size_t close = h.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        for (i = 1; i < close; ++i) {
            char c = h[i];
            if (!(is_hex(c) || c == ':' || c == '.')) return false;
        }
        i = close + 1;
    } else {
        const std::size_t n = h.size();
        for (;;) {
            while (i < n && kTables.host[static_cast<unsigned char>(h[i])]) ++i;
            if (i == n || h[i] != '%') break;
            if (i + 2 >= n || !is_hex(h[i + 1]) || !is_hex(h[i + 2])) return false;
            i += 3;
        }
    }
    if (i == h.size()) return true;
    if (h[i] != ':') return false;
    for (++i; i < h.size(); ++i)
        if (h[i] < '0' || h[i] > '9') return false;
    return true;
}

// Case-insensitive match of a field name (already a valid token of the same
// length, at least 4 bytes) against a lower-case name of letters and '-':
// OR-ing 0x20 folds case, and no other token byte folds onto a letter or '-'.
// Whole words at a time; the last word overlaps the one before it.
template <std::size_t N>
bool name_is(std::string_view name, const char (&lower)[N]) noexcept {
    constexpr std::size_t n = N - 1;
    static_assert(n >= 4);
    auto differ = [&](std::size_t at, auto word) {
        decltype(word) a, b;
        std::memcpy(&a, name.data() + at, sizeof a);
        std::memcpy(&b, lower + at, sizeof b);
        return (a | static_cast<decltype(word)>(0x2020202020202020ull)) != b;
    };
    if constexpr (n < 8) {
        return !differ(0, std::uint32_t{}) && !differ(n - 4, std::uint32_t{});
    } else {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (differ(i, std::uint64_t{})) return false;
        return !differ(n - 8, std::uint64_t{});
    }
}

// Calls f(element) for each non-empty element of a comma-separated list,
// with surrounding whitespace removed.
template <class F>
void for_each_element(std::string_view list, F&& f) {
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view e = trim_ows(list.substr(0, comma));
        if (!e.empty()) f(e);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

// What the fields said about framing, gathered while parsing them.
struct Framing {
    bool has_length = false;
    bool has_te = false;
    bool te_chunked_final = false;
    bool te_bad = false;      // chunked not final, or twice: 400
    bool te_unknown = false;  // a coding brisk does not decode: 501
    bool conn_close = false;
    bool conn_keep_alive = false;
    bool expect_other = false;
    bool expect_continue = false;  // 100-continue
};

void note_transfer_encoding(std::string_view v, Framing& f) {
    f.has_te = true;
    std::size_t n = 0;
    for_each_element(v, [&](std::string_view coding) {
        ++n;
        if (f.te_chunked_final) f.te_bad = true;  // something after chunked
        if (iequals(coding, "chunked"))
            f.te_chunked_final = true;
        else
            f.te_unknown = true;
    });
    if (n == 0) f.te_bad = true;
}

// Content-Length = 1*DIGIT. Values beyond 18 digits saturate: they are over
// any body limit and are answered 413, not confused with a small number.
bool parse_length(std::string_view v, std::uint64_t& out) noexcept {
    if (v.empty()) return false;
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        if (n < 100000000000000000ull)
            n = n * 10 + static_cast<unsigned>(c - '0');
        else
            n = UINT64_MAX;
    }
    out = n;
    return true;
}

HeadResult fail(std::uint16_t status) noexcept { return HeadResult{HeadResult::error, 0, status}; }

// Parses the absolute-form "http://authority/path?query" (RFC 9112 3.2.2).
bool split_absolute(std::string_view t, std::string_view& authority, std::string_view& rest) noexcept {
    std::size_t colon = t.find("://");
    if (colon == std::string_view::npos) return false;
    std::string_view scheme = t.substr(0, colon);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return false;
    t.remove_prefix(colon + 3);
    std::size_t end = t.find_first_of("/?");
    authority = t.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : t.substr(end);
    return !authority.empty() && authority.find('@') == std::string_view::npos && valid_host(authority);
}

}  // namespace

std::string_view Request::header(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < header_count; ++i)
        if (iequals(headers[i].name, name)) return headers[i].value;
    return {};
}

std::size_t find_head_end(const char* buf, std::size_t len, std::size_t from) noexcept {
    std::size_t i = skip_empty_lines(buf, len);
    if (from >= 3 && from - 3 > i) i = from - 3;  // a terminator may straddle the old end
    // A terminator starting at i or later ends with a LF at i + 3 or later:
    // look only at the LFs (one per line) and check the three bytes before each.
    auto ends_head = [buf](std::size_t lf) { return std::memcmp(buf + lf - 3, "\r\n\r\n", 4) == 0; };
    std::size_t lf = i + 3;
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n');
    auto lfs = [&](const char* p) {
        return static_cast<unsigned>(
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), nl)));
    };
    auto first_end = [&](unsigned m, std::size_t base) -> std::size_t {
        for (; m; m &= m - 1)
            if (ends_head(base + __builtin_ctz(m))) return base + __builtin_ctz(m) + 1;
        return 0;
    };
    for (; lf + 16 <= len; lf += 16)
        if (std::size_t e = first_end(lfs(buf + lf), lf)) return e;
#ifdef BRISK_SIMD_TAIL
    // The last partial block, loaded whole when it stays inside its page.
    if (lf < len && (reinterpret_cast<std::uintptr_t>(buf + lf) & 4095) <= 4096 - 16)
        return first_end(lfs(buf + lf) & ((1u << (len - lf)) - 1), lf);
#endif
#endif
    for (; lf < len; ++lf)
        if (buf[lf] == '\n' && ends_head(lf)) return lf + 1;
    return 0;
}

HeadResult check_partial_head(const char* buf, std::size_t len, std::size_t max_head) noexcept {
    std::size_t i = skip_empty_lines(buf, len);
    // The method must be a token: refuse binary junk (a TLS hello, say) at
    // once instead of waiting for a timeout.
    for (; i < len && buf[i] != ' '; ++i)
        if (!is_token(buf[i]) && !(buf[i] == '\r' && i + 1 == len)) return fail(400);
    // A line ending in a bare LF can never complete: refuse it now.
    const char* first_lf = nullptr;
    for (const char* p = buf;
         (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(buf + len - p)))); ++p) {
        if (p == buf || p[-1] != '\r') return fail(400);
        if (!first_lf) first_lf = p;
    }
    if (!first_lf) return len > max_head ? fail(414) : HeadResult{HeadResult::incomplete};
    return len > max_head ? fail(431) : HeadResult{HeadResult::incomplete};
}

HeadResult parse_head(const char* buf, std::size_t head_len, std::size_t max_head, Request& req) noexcept {
    const char* const begin = buf;
    const char* const end = buf + head_len;
    // The head ends with CRLF CRLF, so every scan below stops at a CR at
    // the latest, and needs no bounds check of its own.
    if (head_len < 4 || std::memcmp(end - 4, "\r\n\r\n", 4) != 0) return fail(400);
    const char* p = buf + skip_empty_lines(buf, head_len);
    if (p == end) return fail(400);

    // request-line = method SP request-target SP HTTP-version CRLF
    const char* m = p;
    const bool get = std::memcmp(p, "GET ", 4) == 0;  // most requests: no scan, no lookup
    if (get) {
        p += 3;
    } else {
        while (is_token(*p)) ++p;
        if (p == m || *p != ' ') return fail(400);
    }
    req.method_text = {m, static_cast<std::size_t>(p - m)};
    const char* t = ++p;
    const char* query = nullptr;
    p = skip_target(p, end, query);
    if (p == t || p == end || *p != ' ') {
        // A line that ran past max_head is a long target, whatever it holds.
        const void* nl = std::memchr(t, '\n', static_cast<std::size_t>(end - t));
        if (nl && static_cast<const char*>(nl) - begin > static_cast<std::ptrdiff_t>(max_head)) return fail(414);
        return fail(400);
    }
    req.target = {t, static_cast<std::size_t>(p - t)};
    ++p;
    if (end - p < 10 || std::memcmp(p, "HTTP/", 5) != 0) return fail(400);
    char major = p[5], minor = p[7];
    if (major < '0' || major > '9' || p[6] != '.' || minor < '0' || minor > '9') return fail(400);
    p += 8;
    if (p[0] != '\r' || p[1] != '\n') return fail(400);
    p += 2;
    if (p - begin > static_cast<std::ptrdiff_t>(max_head)) return fail(414);
    if (head_len > max_head) return fail(431);
    if (major != '1') return fail(505);
    req.version_minor = minor == '0' ? 0 : 1;
    if (get)
        req.method = Method::get;
    else if (!parse_method(req.method_text, req.method) || req.method == Method::connect)
        return fail(501);

    // request-target forms (RFC 9112 3.2)
    std::string_view target = req.target, rest;
    req.host = {};
    if (target[0] == '/' || (target == "*" && req.method == Method::options)) {
        rest = target;
    } else if (!split_absolute(target, req.host, rest)) {
        return fail(400);
    }
    // The authority of an absolute-form target holds no '?': the first one
    // of the target is the first one of `rest`.
    if (query) {
        req.path = {rest.data(), static_cast<std::size_t>(query - rest.data())};
        req.query = {query + 1, static_cast<std::size_t>(rest.data() + rest.size() - query - 1)};
    } else {
        req.path = rest;
        req.query = {};
    }
    if (req.path.empty()) req.path = "/";

    // field-line = field-name ":" OWS field-value OWS CRLF
    Framing f;
    std::size_t hosts = 0;
    std::uint16_t n = 0;
    req.content_length = 0;
    for (;;) {
        if (p >= end) return fail(400);
        if (*p == '\r') {
            if (p + 1 >= end || p[1] != '\n') return fail(400);
            break;
        }
        if (*p == ' ' || *p == '\t') return fail(400);  // obs-fold
        const char* name = p;
        p = skip_plain_name(p);
        while (is_token(*p)) ++p;
        if (p == name || *p != ':') return fail(400);
        std::string_view field_name{name, static_cast<std::size_t>(p - name)};
        ++p;
        while (kTables.ows[static_cast<unsigned char>(*p)]) ++p;
        const char* v = p;
        p = skip_value(p, end);
        if (p + 1 >= end || p[0] != '\r' || p[1] != '\n') return fail(400);  // bare CR or LF, CTL, NUL
        const char* ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) --ve;
        std::string_view value{v, static_cast<std::size_t>(ve - v)};
        p += 2;
        if (n == kMaxHeaders) return fail(431);
        req.headers[n++] = Header{field_name, value};

        switch (field_name.size()) {
        case 4:
            if (name_is(field_name, "host")) {
                if (++hosts > 1 || !valid_host(value)) return fail(400);
                if (req.host.empty() && target[0] == '/') req.host = value;
            }
            break;
        case 6:
            if (name_is(field_name, "expect")) {
                if (iequals(value, "100-continue"))
                    f.expect_continue = true;
                else
                    f.expect_other = true;
            }
            break;
        case 10:
            if (name_is(field_name, "connection")) {
                for_each_element(value, [&](std::string_view tok) {
                    if (iequals(tok, "close"))
                        f.conn_close = true;
                    else if (iequals(tok, "keep-alive"))
                        f.conn_keep_alive = true;
                });
            }
            break;
        case 14:
            if (name_is(field_name, "content-length")) {
                if (f.has_length || !parse_length(value, req.content_length)) return fail(400);
                f.has_length = true;
            }
            break;
        case 17:
            if (name_is(field_name, "transfer-encoding")) note_transfer_encoding(value, f);
            break;
        default:
            break;
        }
    }
    req.header_count = n;
    req.has_host = hosts == 1;
    if (req.version_minor == 1 && hosts == 0) return fail(400);

    // Message framing, RFC 9112 6.1 and 6.3.
    req.body_kind = BodyKind::none;
    if (f.has_te) {
        if (f.has_length || req.version_minor == 0 || f.te_bad || !f.te_chunked_final) {
            // chunked present but not final (or twice): framing unknowable.
            if (f.te_bad || f.has_length || req.version_minor == 0 || !f.te_unknown) return fail(400);
            return fail(501);
        }
        if (f.te_unknown) return fail(501);
        req.body_kind = BodyKind::chunked;
    } else if (f.has_length) {
        req.body_kind = BodyKind::length;
    }

    if (req.version_minor == 1) {
        if (f.expect_other) return fail(417);
        req.expect_continue = f.expect_continue;
        req.keep_alive = !f.conn_close;
    } else {
        req.expect_continue = false;
        req.keep_alive = f.conn_keep_alive && !f.conn_close;
    }
    req.body = {};
    return HeadResult{HeadResult::complete, head_len, 0};
}

}  // namespace brisk::http
