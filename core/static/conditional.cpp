#include "static/conditional.hpp"

#include <cstring>

#include "http/chars.hpp"

namespace brisk::files {
namespace {

constexpr char kDays[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // from 1970-01-01
constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned mm = m > 2 ? m - 3 : m + 9;
    const unsigned doy = (153 * mm + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, unsigned& out) noexcept {
    if (at + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    out = v;
    return true;
}

bool month(std::string_view s, std::size_t at, unsigned& out) noexcept {
    if (at + 3 > s.size()) return false;
    for (unsigned i = 0; i < 12; ++i)
        if (std::memcmp(s.data() + at, kMonths[i], 3) == 0) {
            out = i + 1;
            return true;
        }
    return false;
}

// "08:49:37" at s[at...].
bool clock(std::string_view s, std::size_t at, unsigned& h, unsigned& mi, unsigned& sec) noexcept {
    return at + 8 <= s.size() && digits(s, at, 2, h) && s[at + 2] == ':' && digits(s, at + 3, 2, mi) &&
           s[at + 5] == ':' && digits(s, at + 6, 2, sec) && h < 24 && mi < 60 && sec < 61;
}

bool finish(std::int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, std::int64_t& out) noexcept {
    if (d < 1 || d > 31) return false;
    out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

using http::is_ows;

}  // namespace

void format_http_date(std::int64_t t, char* out) noexcept {
    std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    auto secs = static_cast<unsigned>(t - days * 86400);
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    auto wd = static_cast<unsigned>(((days % 7) + 7) % 7);
    auto two = [](char* p, unsigned v) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    std::memcpy(out, kDays[wd], 3);
    out[3] = ',';
    out[4] = ' ';
    two(out + 5, d);
    out[7] = ' ';
    std::memcpy(out + 8, kMonths[m - 1], 3);
    out[11] = ' ';
    auto yy = static_cast<unsigned>(y < 0 ? 0 : y > 9999 ? 9999 : y);
    two(out + 12, yy / 100);
    two(out + 14, yy % 100);
    out[16] = ' ';
    two(out + 17, secs / 3600);
    out[19] = ':';
    two(out + 20, secs / 60 % 60);
    out[22] = ':';
    two(out + 23, secs % 60);
    std::memcpy(out + 25, " GMT", 4);
}

bool parse_http_date(std::string_view s, std::int64_t& out) noexcept {
    s = http::trim_ows(s);
    unsigned d, mo, y4, h, mi, sec;
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (s.size() == 29 && s[3] == ',' && s[4] == ' ') {
        if (!digits(s, 5, 2, d) || s[7] != ' ' || !month(s, 8, mo) || s[11] != ' ' || !digits(s, 12, 4, y4) ||
            s[16] != ' ' || !clock(s, 17, h, mi, sec) || s.substr(25) != " GMT")
            return false;
        return finish(y4, mo, d, h, mi, sec, out);
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s.size() == 24 && s[3] == ' ') {
        unsigned day1;
        if (!month(s, 4, mo) || s[7] != ' ') return false;
        if (s[8] == ' ') {
            if (!digits(s, 9, 1, day1)) return false;
        } else if (!digits(s, 8, 2, day1)) {
            return false;
        }
        if (s[10] != ' ' || !clock(s, 11, h, mi, sec) || s[19] != ' ' || !digits(s, 20, 4, y4)) return false;
        return finish(y4, mo, day1, h, mi, sec, out);
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    std::size_t comma = s.find(", ");
    if (comma != std::string_view::npos && comma >= 6 && comma <= 9 && s.size() == comma + 24) {
        std::size_t p = comma + 2;
        unsigned y2;
        if (!digits(s, p, 2, d) || s[p + 2] != '-' || !month(s, p + 3, mo) || s[p + 6] != '-' ||
            !digits(s, p + 7, 2, y2) || s[p + 9] != ' ' || !clock(s, p + 10, h, mi, sec) || s.substr(p + 18) != " GMT")
            return false;
        // Two-digit years: the nearest past century (RFC 9110 5.6.7, simplified).
        std::int64_t y = y2 < 70 ? 2000 + y2 : 1900 + y2;
        return finish(y, mo, d, h, mi, sec, out);
    }
    return false;
}

bool etag_list_matches(std::string_view list, std::string_view etag, bool weak, bool exists) noexcept {
    std::size_t i = 0;
    while (i < list.size()) {
        while (i < list.size() && (is_ows(list[i]) || list[i] == ',')) ++i;
        if (i == list.size()) break;
        if (list[i] == '*') return exists;
        bool is_weak = false;
        if (list[i] == 'W' && i + 1 < list.size() && list[i + 1] == '/') {
            is_weak = true;
            i += 2;
        }
        if (i >= list.size() || list[i] != '"') return false;  // malformed: no match
        std::size_t close = list.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        std::string_view tag = list.substr(i, close + 1 - i);
        i = close + 1;
        if (etag.empty() || (is_weak && !weak)) continue;
        if (tag == etag) return true;
    }
    return false;
}

FileRequestFields::FileRequestFields(const http::Request& req) noexcept {
    for (std::size_t i = 0; i < req.header_count; ++i) {
        const http::Header& h = req.headers[i];
        std::string_view n = h.name;
        switch (n.size()) {
        case 5:
            if (!has_range && http::iequals(n, "range")) {
                range = h.value;
                has_range = true;
            }
            break;
        case 8:
            if (if_match.empty() && http::iequals(n, "if-match"))
                if_match = h.value;
            else if (if_range.empty() && http::iequals(n, "if-range"))
                if_range = h.value;
            break;
        case 13:
            if (if_none_match.empty() && http::iequals(n, "if-none-match")) if_none_match = h.value;
            break;
        case 15:
            if (!has_accept_encoding && http::iequals(n, "accept-encoding")) {
                accept_encoding = h.value;
                has_accept_encoding = true;
            }
            break;
        case 17:
            if (if_modified_since.empty() && http::iequals(n, "if-modified-since")) if_modified_since = h.value;
            break;
        case 19:
            if (if_unmodified_since.empty() && http::iequals(n, "if-unmodified-since")) if_unmodified_since = h.value;
            break;
        default:
            break;
        }
    }
}

Precondition evaluate_preconditions(const FileRequestFields& f, std::string_view etag, std::int64_t mtime) noexcept {
    std::int64_t t;
    if (!f.if_match.empty()) {
        if (!etag_list_matches(f.if_match, etag, false)) return Precondition::failed;
    } else if (!f.if_unmodified_since.empty() && parse_http_date(f.if_unmodified_since, t)) {
        if (mtime > t) return Precondition::failed;
    }
    if (!f.if_none_match.empty()) {
        if (etag_list_matches(f.if_none_match, etag, true)) return Precondition::not_modified;
    } else if (!f.if_modified_since.empty() && parse_http_date(f.if_modified_since, t)) {
        if (mtime <= t) return Precondition::not_modified;
    }
    return Precondition::proceed;
}

bool if_range_holds(std::string_view value, std::string_view etag, std::int64_t mtime) noexcept {
    value = http::trim_ows(value);
    if (value.empty()) return false;
    if (value.front() == '"' || value.substr(0, 2) == "W/") return !etag.empty() && value == etag;
    std::int64_t t;
    return parse_http_date(value, t) && t == mtime;
}

}  // namespace brisk::files
