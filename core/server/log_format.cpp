// brisk — access log formats (see log_format.hpp).
#include "server/log_format.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>

#include <array>
#include <charconv>
#include <cstring>

#include "brisk/config.hpp"

namespace brisk::alog {
namespace {

struct Named {
    std::string_view name;
    Var var;
};

constexpr std::array<Named, 25> kVars{{
    {"remote_addr", Var::remote_addr},
    {"remote_port", Var::remote_port},
    {"time_local", Var::time_local},
    {"time_iso8601", Var::time_iso8601},
    {"msec", Var::msec},
    {"request", Var::request},
    {"method", Var::method},
    {"path", Var::path},
    {"query", Var::query},
    {"protocol", Var::protocol},
    {"status", Var::status},
    {"body_bytes_sent", Var::body_bytes_sent},
    {"bytes_sent", Var::bytes_sent},
    {"request_length", Var::request_length},
    {"request_time", Var::request_time},
    {"request_time_us", Var::request_time_us},
    {"host", Var::host},
    {"connection", Var::connection},
    {"connection_requests", Var::connection_requests},
    {"route", Var::route},
    {"loop", Var::loop},
    {"scheme", Var::scheme},
    {"ssl_protocol", Var::ssl_protocol},
    {"ssl_cipher", Var::ssl_cipher},
    {"ssl_server_name", Var::ssl_server_name},
}};

template <std::size_t N>
constexpr std::array<std::string_view, N> names_of(const std::array<Named, N>& vars) {
    std::array<std::string_view, N> names{};
    for (std::size_t i = 0; i < N; ++i) names[i] = vars[i].name;
    return names;
}
constexpr auto kNames = names_of(kVars);

constexpr std::string_view kCommon = R"($remote_addr - - [$time_local] "$request" $status $body_bytes_sent)";
constexpr std::string_view kCombined =
    R"($remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent")";
constexpr std::string_view kJson =
    R"(escape=json {"time":"$time_iso8601","remote_addr":"$remote_addr","remote_port":$remote_port,)"
    R"("connection":$connection,"connection_requests":$connection_requests,"request":"$request",)"
    R"("method":"$method","path":"$path","query":"$query","protocol":"$protocol","host":"$host",)"
    R"("status":$status,"body_bytes_sent":$body_bytes_sent,"bytes_sent":$bytes_sent,)"
    R"("request_length":$request_length,"request_time_us":$request_time_us,)"
    R"("referer":"$http_referer","user_agent":"$http_user_agent","route":"$route"})";

constexpr std::string_view kJsonPrefix = "escape=json ";
constexpr std::string_view kDefaultPrefix = "escape=default ";

bool name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

constexpr char kHex[] = "0123456789ABCDEF";

void put_num(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

// How many leading bytes of v need no escaping in either style: printable
// ASCII but '"' and '\\'. Eight bytes at a time: most values are all clean.
std::size_t clean_prefix(std::string_view v) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    auto zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
        std::uint64_t x;
        std::memcpy(&x, v.data() + i, 8);
        std::uint64_t bad = (x & highs) | ((x - ones * 0x20) & ~x & highs) | zero_byte(x ^ (ones * 0x7f)) |
                            zero_byte(x ^ (ones * 0x22)) | zero_byte(x ^ (ones * 0x5c));
        if (bad) break;
    }
    return i;
}

// nginx-style: '"', '\\', control bytes and bytes >= 0x7f as \xHH; empty as "-".
void put_text(std::string& out, std::string_view v) {
    if (v.empty()) {
        out += '-';
        return;
    }
    std::size_t run = 0;
    for (std::size_t i = clean_prefix(v); i < v.size(); ++i) {
        auto c = static_cast<unsigned char>(v[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') continue;
        out.append(v.data() + run, i - run);
        char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 4);
        run = i + 1;
    }
    out.append(v.data() + run, v.size() - run);
}

// Length of the valid UTF-8 sequence at s[0] (2 to 4), or 0.
std::size_t utf8_len(const unsigned char* s, std::size_t n) noexcept {
    unsigned char c = s[0];
    auto cont = [&](std::size_t i) { return i < n && (s[i] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  // overlong
        if (c == 0xED && s[1] > 0x9F) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] > 0x8F) return 0;
        return 4;
    }
    return 0;
}

// The inside of a JSON string: valid UTF-8 is kept, '"', '\\' and control
// bytes are escaped, and a byte that is not part of valid UTF-8 becomes
// \u00XX (its Latin-1 reading), so the line is always valid JSON.
void put_json(std::string& out, std::string_view v) {
    const auto* s = reinterpret_cast<const unsigned char*>(v.data());
    const std::size_t n = v.size();
    std::size_t run = 0;
    for (std::size_t i = clean_prefix(v); i < n;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (std::size_t len = utf8_len(s + i, n - i)) {
                i += len;
                continue;
            }
        }
        out.append(v.data() + run, i - run);
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', static_cast<char>(c)};
            out.append(esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            out.append(esc, 6);
        }
        run = ++i;
    }
    out.append(v.data() + run, n - run);
}

void put_ipv4(std::string& out, const std::uint8_t* ip) {
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
        unsigned v = ip[i];
        if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
        if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
        *p++ = static_cast<char>('0' + v % 10);
        *p++ = '.';
    }
    out.append(buf, static_cast<std::size_t>(p - buf - 1));
}

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char* put2(char* p, int v) noexcept {
    *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
    return p;
}

char* put4(char* p, int v) noexcept {
    p = put2(p, v / 100);
    return put2(p, v % 100);
}

// "+0200", or "+02:00" with `colon`.
char* put_offset(char* p, long gmtoff, bool colon) noexcept {
    *p++ = gmtoff < 0 ? '-' : '+';
    long m = (gmtoff < 0 ? -gmtoff : gmtoff) / 60;
    p = put2(p, static_cast<int>(m / 60));
    if (colon) *p++ = ':';
    return put2(p, static_cast<int>(m % 60));
}

}  // namespace

std::span<const std::string_view> variable_names() { return kNames; }

std::string_view request_line(const http::Request& req) noexcept {
    // The parser takes exactly "METHOD SP TARGET SP HTTP/d.d": the line is
    // contiguous in the buffer, and ends 9 bytes after the target.
    const char* begin = req.method_text.data();
    const char* end = req.target.data() + req.target.size() + 9;
    return {begin, static_cast<std::size_t>(end - begin)};
}

bool compile(std::string_view spec, Format& out, std::string& error) {
    Format f;
    if (spec == "common")
        spec = kCommon;
    else if (spec == "combined")
        spec = kCombined;
    else if (spec == "json")
        spec = kJson;
    if (spec.starts_with(kJsonPrefix)) {
        f.json = true;
        spec.remove_prefix(kJsonPrefix.size());
    } else if (spec.starts_with(kDefaultPrefix)) {
        spec.remove_prefix(kDefaultPrefix.size());
    }
    if (spec.empty()) {
        error = "empty access log format (use common, combined, json or a template of $variables)";
        return false;
    }
    auto literal = [&](std::string_view text) {
        if (text.empty()) return;
        if (!f.pieces.empty() && f.pieces.back().var == Var::literal)
            f.pieces.back().text += text;
        else
            f.pieces.push_back(Piece{Var::literal, std::string(text)});
    };
    for (std::size_t i = 0; i < spec.size();) {
        char c = spec[i];
        if (c == '\n' || c == '\r') {
            error = "an access log format is one line: no line breaks";
            return false;
        }
        if (c != '$') {
            std::size_t next = spec.find_first_of("$\r\n", i);
            if (next == std::string_view::npos) next = spec.size();
            literal(spec.substr(i, next - i));
            i = next;
            continue;
        }
        if (i + 1 < spec.size() && spec[i + 1] == '$') {
            literal("$");
            i += 2;
            continue;
        }
        std::string_view name;
        if (i + 1 < spec.size() && spec[i + 1] == '{') {
            std::size_t close = spec.find('}', i + 2);
            if (close == std::string_view::npos) {
                error = "\"${\" without a closing '}' at offset " + std::to_string(i);
                return false;
            }
            name = spec.substr(i + 2, close - i - 2);
            i = close + 1;
            for (char n : name) {
                if (!name_char(n)) {
                    error = "bad variable name \"${" + std::string(name) + "}\": letters, digits and '_' only";
                    return false;
                }
            }
        } else {
            std::size_t j = i + 1;
            while (j < spec.size() && name_char(spec[j])) ++j;
            name = spec.substr(i + 1, j - i - 1);
            i = j;
        }
        if (name.empty()) {
            error = "'$' must be followed by a variable name, as in $status (write $$ for a dollar sign)";
            return false;
        }
        if (name.starts_with("http_") && name.size() > 5) {
            std::string field(name.substr(5));
            for (char& ch : field) ch = ch == '_' ? '-' : http::ascii_lower(ch);
            f.pieces.push_back(Piece{Var::header, std::move(field)});
            continue;
        }
        const Named* found = nullptr;
        for (const Named& v : kVars)
            if (v.name == name) found = &v;
        if (!found) {
            error = "unknown variable $" + std::string(name) + " in access log format (known: ";
            for (std::size_t k = 0; k < kVars.size(); ++k) error += (k ? ", $" : "$") + std::string(kVars[k].name);
            error += ", $http_NAME)";
            return false;
        }
        f.pieces.push_back(Piece{found->var, {}});
    }
    out = std::move(f);
    return true;
}

void Renderer::refresh(std::time_t now_s) {
    cached_s_ = now_s;
    tm t{};
    localtime_r(&now_s, &t);
    char* p = local_;
    p = put2(p, t.tm_mday);
    *p++ = '/';
    std::memcpy(p, kMonths[t.tm_mon % 12], 3);
    p += 3;
    *p++ = '/';
    p = put4(p, t.tm_year + 1900);
    *p++ = ':';
    p = put2(p, t.tm_hour);
    *p++ = ':';
    p = put2(p, t.tm_min);
    *p++ = ':';
    p = put2(p, t.tm_sec);
    *p++ = ' ';
    p = put_offset(p, t.tm_gmtoff, false);
    local_len_ = static_cast<std::size_t>(p - local_);

    p = iso_;
    p = put4(p, t.tm_year + 1900);
    *p++ = '-';
    p = put2(p, t.tm_mon + 1);
    *p++ = '-';
    p = put2(p, t.tm_mday);
    *p++ = 'T';
    p = put2(p, t.tm_hour);
    *p++ = ':';
    p = put2(p, t.tm_min);
    *p++ = ':';
    p = put2(p, t.tm_sec);
    p = put_offset(p, t.tm_gmtoff, true);
    iso_len_ = static_cast<std::size_t>(p - iso_);
}

void Renderer::render(const Format& format, const Record& r, std::string& out) {
    const http::Request* req = r.req;
    const bool json = format.json;
    auto text = [&](std::string_view v) {
        if (json)
            put_json(out, v);
        else
            put_text(out, v);
    };
    for (const Piece& piece : format.pieces) {
        switch (piece.var) {
        case Var::literal:
            out += piece.text;
            break;
        case Var::remote_addr:
            if (r.ip_len == 4) {
                put_ipv4(out, r.ip);  // inet_ntop() formats with sprintf: ten times the cost
            } else if (r.ip_len == 16) {
                char addr[INET6_ADDRSTRLEN];
                if (inet_ntop(AF_INET6, r.ip, addr, sizeof addr))
                    out += addr;
                else
                    text({});
            } else {
                out += "unix:";
            }
            break;
        case Var::remote_port:
            put_num(out, r.port);
            break;
        case Var::time_local:
        case Var::time_iso8601:
            if (r.now_s != cached_s_) refresh(r.now_s);
            if (piece.var == Var::time_local)
                out.append(local_, local_len_);
            else
                out.append(iso_, iso_len_);
            break;
        case Var::msec: {
            timespec ts{};
            clock_gettime(CLOCK_REALTIME, &ts);
            put_num(out, static_cast<std::uint64_t>(ts.tv_sec));
            char ms[4] = {'.', static_cast<char>('0' + ts.tv_nsec / 100000000),
                          static_cast<char>('0' + ts.tv_nsec / 10000000 % 10),
                          static_cast<char>('0' + ts.tv_nsec / 1000000 % 10)};
            out.append(ms, 4);
            break;
        }
        case Var::request:
            text(req ? request_line(*req) : r.raw_line);
            break;
        case Var::method:
            text(req ? req->method_text : std::string_view());
            break;
        case Var::path:
            text(req ? req->path : std::string_view());
            break;
        case Var::query:
            text(req ? req->query : std::string_view());
            break;
        case Var::protocol:
            text(req ? request_line(*req).substr(request_line(*req).size() - 8) : std::string_view());
            break;
        case Var::status:
            put_num(out, r.status);
            break;
        case Var::body_bytes_sent:
            put_num(out, r.body_bytes);
            break;
        case Var::bytes_sent:
            put_num(out, r.bytes);
            break;
        case Var::request_length:
            put_num(out, r.request_length);
            break;
        case Var::request_time: {
            std::uint64_t ms = (r.duration_us + 500) / 1000;
            put_num(out, ms / 1000);
            char frac[4] = {'.', static_cast<char>('0' + ms / 100 % 10), static_cast<char>('0' + ms / 10 % 10),
                            static_cast<char>('0' + ms % 10)};
            out.append(frac, 4);
            break;
        }
        case Var::request_time_us:
            put_num(out, r.duration_us);
            break;
        case Var::host:
            text(req ? req->host : std::string_view());
            break;
        case Var::connection:
            put_num(out, r.connection);
            break;
        case Var::connection_requests:
            put_num(out, r.connection_requests);
            break;
        case Var::route:
            text(r.route);
            break;
        case Var::loop:
            put_num(out, r.loop);
            break;
        case Var::scheme:
            out += r.tls ? "https" : "http";
            break;
        case Var::ssl_protocol:
            text(r.ssl_protocol);
            break;
        case Var::ssl_cipher:
            text(r.ssl_cipher);
            break;
        case Var::ssl_server_name:
            text(r.ssl_server_name);
            break;
        case Var::header:
            text(req ? req->header(piece.text) : std::string_view());
            break;
        }
    }
    out += '\n';
}

}  // namespace brisk::alog

namespace brisk {

bool check_access_log_format(std::string_view format, std::string& error) {
    alog::Format compiled;
    return alog::compile(format, compiled, error);
}

}  // namespace brisk
