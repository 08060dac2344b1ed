#include "static/range.hpp"

#include <algorithm>

#include "http/chars.hpp"
#include "http/request.hpp"

namespace brisk::files {
namespace {

using http::is_ows;

// Digits at s[i...]: false if none. Saturates instead of overflowing.
bool parse_number(std::string_view s, std::size_t& i, std::uint64_t& out) noexcept {
    std::size_t start = i;
    std::uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        auto d = static_cast<std::uint64_t>(s[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        ++i;
    }
    out = v;
    return i > start;
}

}  // namespace

RangeSet parse_range(std::string_view value, std::uint64_t size) noexcept {
    RangeSet set;
    // "bytes" "=" — the unit is case-insensitive.
    std::size_t eq = value.find('=');
    if (eq == std::string_view::npos) return set;
    std::string_view unit = http::trim_ows(value.substr(0, eq));
    if (!http::iequals(unit, "bytes")) return set;

    std::string_view s = value.substr(eq + 1);
    std::size_t i = 0, specs = 0;
    bool any_spec = false;
    for (;;) {
        while (i < s.size() && (is_ows(s[i]) || s[i] == ',')) ++i;  // empty list elements are allowed
        if (i == s.size()) break;
        if (++specs > kMaxRanges) {
            set.count = 0;
            return set;  // too many: ignored
        }
        std::uint64_t first = 0, last = 0;
        bool suffix = false, open = false;
        if (s[i] == '-') {
            ++i;
            if (!parse_number(s, i, last)) return RangeSet{};
            suffix = true;
        } else {
            if (!parse_number(s, i, first)) return RangeSet{};
            if (i == s.size() || s[i] != '-') return RangeSet{};
            ++i;
            if (!parse_number(s, i, last))
                open = true;
            else if (last < first)
                return RangeSet{};  // invalid: the whole field is ignored
        }
        while (i < s.size() && is_ows(s[i])) ++i;
        if (i < s.size() && s[i] != ',') return RangeSet{};
        any_spec = true;

        ByteRange r{};
        if (suffix) {
            if (last == 0 || size == 0) continue;  // unsatisfiable
            r.first = last >= size ? 0 : size - last;
            r.last = size - 1;
        } else {
            if (first >= size) continue;  // unsatisfiable
            r.first = first;
            r.last = open || last >= size ? size - 1 : last;
        }
        set.ranges[set.count++] = r;
    }
    if (!any_spec) return RangeSet{};
    if (set.count == 0) {
        set.kind = RangeSet::Kind::unsatisfiable;
        return set;
    }
    set.kind = RangeSet::Kind::satisfiable;
    // Coalesce when any two ranges overlap or touch.
    bool overlap = false;
    for (std::size_t a = 0; a < set.count && !overlap; ++a)
        for (std::size_t b = a + 1; b < set.count && !overlap; ++b) {
            const ByteRange &x = set.ranges[a], &y = set.ranges[b];
            overlap = x.first <= (y.last == UINT64_MAX ? y.last : y.last + 1) &&
                      y.first <= (x.last == UINT64_MAX ? x.last : x.last + 1);
        }
    if (overlap) {
        std::sort(set.ranges, set.ranges + set.count,
                  [](const ByteRange& x, const ByteRange& y) { return x.first < y.first; });
        std::size_t n = 1;
        for (std::size_t k = 1; k < set.count; ++k) {
            ByteRange& prev = set.ranges[n - 1];
            const ByteRange& cur = set.ranges[k];
            if (cur.first <= prev.last + 1)
                prev.last = std::max(prev.last, cur.last);
            else
                set.ranges[n++] = cur;
        }
        set.count = n;
    }
    return set;
}

}  // namespace brisk::files
