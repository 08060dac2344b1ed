// brisk — parsing and formatting of durations and sizes (see brisk/units.hpp).
#include "brisk/units.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace brisk {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string quoted(std::string_view text) {
    std::string q;
    q.reserve(text.size() + 2);
    q += '"';
    q += text;
    q += '"';
    return q;
}

/** A printable rendering of one offending character, for messages. */
std::string describe_char(char c) {
    if (c == ' ') return "space";
    if (c == '\t') return "tab";
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
        constexpr std::string_view hex = "0123456789abcdef";
        std::string s = "byte 0x";
        s += hex[u >> 4];
        s += hex[u & 0xf];
        return s;
    }
    return std::string("'") + c + "'";
}

enum class Digits { ok, none, overflow };

/** Reads decimal digits at text[pos...]; advances pos. */
Digits read_number(std::string_view text, std::size_t& pos, std::uint64_t& value) {
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    std::size_t start = pos;
    value = 0;
    bool overflow = false;
    while (pos < text.size() && is_digit(text[pos])) {
        auto digit = static_cast<std::uint64_t>(text[pos] - '0');
        if (value > (max - digit) / 10)
            overflow = true;
        else
            value = value * 10 + digit;
        ++pos;
    }
    if (pos == start) return Digits::none;
    return overflow ? Digits::overflow : Digits::ok;
}

struct DurationUnit {
    std::string_view name;
    std::uint64_t millis;
};

// Largest first: a duration lists its parts in this order, each at most once.
constexpr std::array<DurationUnit, 4> duration_units{{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

}  // namespace

bool parse_duration(std::string_view text, Duration& out, std::string& error) {
    auto fail = [&](std::string_view reason) {
        error = "bad duration " + quoted(text) + ": " + std::string(reason);
        return false;
    };
    if (text.empty()) return fail("empty; expected e.g. \"10s\", \"500ms\", \"2m\" or \"1h\"");
    if (text == "0") {
        out = Duration::zero();
        return true;
    }
    if (text.front() == '-') return fail("must not be negative");

    const auto limit = static_cast<std::uint64_t>(max_duration.count());
    std::uint64_t total = 0;
    std::size_t next_unit = 0;  // index into duration_units of the smallest unit still allowed
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::uint64_t value = 0;
        switch (read_number(text, pos, value)) {
        case Digits::none:
            return fail("unexpected " + describe_char(text[pos]) + "; expected a number");
        case Digits::overflow:
            return fail("longer than the maximum " + format_duration(max_duration));
        case Digits::ok:
            break;
        }
        std::size_t unit_start = pos;
        while (pos < text.size() && is_letter(text[pos])) ++pos;
        std::string_view unit = text.substr(unit_start, pos - unit_start);
        if (unit.empty()) {
            if (pos < text.size() && (text[pos] == '.' || text[pos] == ','))
                return fail("fractions are not supported; use a smaller unit (\"1500ms\", not \"1.5s\")");
            if (pos < text.size()) return fail("unexpected " + describe_char(text[pos]) + " after a number");
            if (unit_start == text.size() && total == 0 && next_unit == 0)
                return fail("missing unit (write e.g. \"" + std::string(text) + "s\" for seconds; units: h, m, s, ms)");
            return fail("missing unit after the last number (units: h, m, s, ms)");
        }
        std::size_t index = duration_units.size();
        for (std::size_t i = 0; i < duration_units.size(); ++i) {
            if (duration_units[i].name == unit) index = i;
        }
        if (index == duration_units.size()) return fail("unknown unit " + quoted(unit) + " (use h, m, s or ms)");
        if (index < next_unit) return fail("units must go from largest to smallest, each at most once");
        next_unit = index + 1;
        std::uint64_t per = duration_units[index].millis;
        if (value > limit / per || value * per > limit - total)
            return fail("longer than the maximum " + format_duration(max_duration));
        total += value * per;
    }
    out = Duration(static_cast<Duration::rep>(total));
    return true;
}

bool parse_size(std::string_view text, std::uint64_t& out, std::string& error) {
    auto fail = [&](std::string_view reason) {
        error = "bad size " + quoted(text) + ": " + std::string(reason);
        return false;
    };
    if (text.empty()) return fail("empty; expected bytes or e.g. \"8KiB\", \"4MiB\", \"1GiB\", \"8k\"");
    if (text.front() == '-') return fail("must not be negative");

    std::size_t pos = 0;
    std::uint64_t value = 0;
    switch (read_number(text, pos, value)) {
    case Digits::none:
        return fail("unexpected " + describe_char(text[pos]) + "; expected a number");
    case Digits::overflow:
        return fail("too large");
    case Digits::ok:
        break;
    }
    std::string_view unit = text.substr(pos);
    if (!unit.empty() && (unit.front() == '.' || unit.front() == ','))
        return fail("fractions are not supported; use a smaller unit (\"1536KiB\", not \"1.5MiB\")");
    for (char c : unit) {
        if (!is_letter(c)) return fail("unexpected " + describe_char(c) + " after the number");
    }

    unsigned shift = 0;
    if (unit.empty() || unit == "B")
        shift = 0;
    else if (unit == "k" || unit == "K" || unit == "KiB")
        shift = 10;
    else if (unit == "m" || unit == "M" || unit == "MiB")
        shift = 20;
    else if (unit == "g" || unit == "G" || unit == "GiB")
        shift = 30;
    else if (unit == "t" || unit == "T" || unit == "TiB")
        shift = 40;
    else if (unit.size() == 2 && (unit[1] == 'B' || unit[1] == 'b') &&
             std::string_view("kKmMgGtT").find(unit[0]) != std::string_view::npos) {
        std::string iec{static_cast<char>(unit[0] & ~0x20), 'i', 'B'};
        return fail("ambiguous unit " + quoted(unit) + "; write \"" + iec + "\" or \"" +
                    static_cast<char>(unit[0] | 0x20) + "\" (both mean powers of 1024)");
    } else {
        return fail("unknown unit " + quoted(unit) + " (use KiB, MiB, GiB, TiB or k, m, g, t)");
    }
    if (shift != 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return fail("too large");
    out = value << shift;
    return true;
}

std::string format_duration(Duration d) {
    if (d <= Duration::zero()) return "0";
    auto left = static_cast<std::uint64_t>(d.count());
    // One unit when it is exact, as people write timeouts: "1h", "10m", and
    // seconds up to five minutes ("60s", "90s"); otherwise every part ("1m1s5ms").
    constexpr std::uint64_t second = 1'000, minute = 60'000, hour = 3'600'000;
    if (left % hour == 0) return std::to_string(left / hour) + "h";
    if (left % minute == 0 && left >= 5 * minute) return std::to_string(left / minute) + "m";
    if (left % second == 0 && left < 5 * minute) return std::to_string(left / second) + "s";
    std::string s;
    for (const auto& unit : duration_units) {
        std::uint64_t n = left / unit.millis;
        if (n == 0) continue;
        s += std::to_string(n);
        s += unit.name;
        left -= n * unit.millis;
    }
    return s;
}

std::string format_size(std::uint64_t bytes) {
    if (bytes == 0) return "0";
    struct SizeUnit {
        std::string_view name;
        unsigned shift;
    };
    constexpr std::array<SizeUnit, 4> units{{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}};
    for (const auto& unit : units) {
        std::uint64_t mask = (std::uint64_t{1} << unit.shift) - 1;
        if ((bytes & mask) == 0) return std::to_string(bytes >> unit.shift) + std::string(unit.name);
    }
    return std::to_string(bytes);
}

}  // namespace brisk
