#include "static/accept.hpp"

#include "http/chars.hpp"
#include "http/request.hpp"

namespace brisk::files {
namespace {

constexpr auto trim = http::trim_ows;

}  // namespace

std::string_view encoding_name(Encoding e) noexcept {
    switch (e) {
    case Encoding::br:
        return "br";
    case Encoding::zstd:
        return "zstd";
    case Encoding::gzip:
        return "gzip";
    case Encoding::identity:
        break;
    }
    return "identity";
}

std::string_view encoding_suffix(Encoding e) noexcept {
    switch (e) {
    case Encoding::br:
        return ".br";
    case Encoding::zstd:
        return ".zst";
    case Encoding::gzip:
        return ".gz";
    case Encoding::identity:
        break;
    }
    return {};
}

bool encoding_from_name(std::string_view name, Encoding& out) noexcept {
    if (name == "br")
        out = Encoding::br;
    else if (name == "zst" || name == "zstd")
        out = Encoding::zstd;
    else if (name == "gz" || name == "gzip")
        out = Encoding::gzip;
    else
        return false;
    return true;
}

bool parse_qvalue(std::string_view t, std::uint16_t& out) noexcept {
    if (t.empty() || (t[0] != '0' && t[0] != '1')) return false;
    unsigned v = static_cast<unsigned>(t[0] - '0') * 1000;
    if (t.size() == 1) {
        out = static_cast<std::uint16_t>(v);
        return true;
    }
    if (t[1] != '.' || t.size() > 5) return false;
    unsigned scale = 100;
    for (std::size_t i = 2; i < t.size(); ++i, scale /= 10) {
        if (t[i] < '0' || t[i] > '9') return false;
        v += static_cast<unsigned>(t[i] - '0') * scale;
    }
    if (v > 1000) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

AcceptEncoding parse_accept_encoding(std::string_view value) noexcept {
    AcceptEncoding a;
    bool listed[kEncodings] = {};
    int star = -1;
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        std::size_t semi = item.find(';');
        std::string_view name = trim(item.substr(0, semi));
        if (name.empty()) continue;
        std::uint16_t q = 1000;
        bool ok = true;
        std::string_view params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
        while (!params.empty()) {
            std::size_t next = params.find(';');
            std::string_view param = trim(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
            std::size_t eq = param.find('=');
            if (eq == std::string_view::npos) continue;
            std::string_view key = trim(param.substr(0, eq));
            if (key.size() == 1 && (key[0] == 'q' || key[0] == 'Q')) ok = parse_qvalue(trim(param.substr(eq + 1)), q);
        }
        if (!ok) continue;
        if (name == "*") {
            star = q;
            continue;
        }
        Encoding e;
        if (http::iequals(name, "identity")) {
            e = Encoding::identity;
        } else if (http::iequals(name, "br")) {
            e = Encoding::br;
        } else if (http::iequals(name, "zstd")) {
            e = Encoding::zstd;
        } else if (http::iequals(name, "gzip") || http::iequals(name, "x-gzip")) {
            e = Encoding::gzip;
        } else {
            continue;
        }
        auto idx = static_cast<unsigned>(e);
        // A coding listed twice keeps its highest q-value.
        if (!listed[idx] || q > a.q[idx]) a.q[idx] = q;
        listed[idx] = true;
    }
    if (star >= 0) {
        for (unsigned i = 0; i < kEncodings; ++i)
            if (!listed[i]) a.q[i] = static_cast<std::uint16_t>(star);
    } else if (!listed[static_cast<unsigned>(Encoding::identity)]) {
        // Acceptable, but not preferred to any coding the client named.
        a.q[static_cast<unsigned>(Encoding::identity)] = 1;
    }
    return a;
}

Encoding choose_encoding(const AcceptEncoding& accept, unsigned available, unsigned preferred) noexcept {
    available |= bit(Encoding::identity);
    int best = -1;
    std::uint16_t best_q = 0;
    // Two passes give precompressed codings the tie; within a pass br > zstd > gzip > identity.
    for (int pass = 0; pass < 2; ++pass) {
        for (unsigned i = 0; i < kEncodings; ++i) {
            if (!(available & (1u << i))) continue;
            bool pre = (preferred & (1u << i)) != 0;
            if ((pass == 0) != pre) continue;
            std::uint16_t q = accept.q[i];
            if (q > best_q) {
                best = static_cast<int>(i);
                best_q = q;
            }
        }
    }
    return best < 0 ? Encoding::identity : static_cast<Encoding>(best);
}

}  // namespace brisk::files
