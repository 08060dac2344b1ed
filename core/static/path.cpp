#include "static/path.hpp"

#include "http/chars.hpp"

namespace brisk::files {
namespace {

constexpr std::size_t kMaxName = 255;  // NAME_MAX

}  // namespace

NormalizedPath normalize_path(std::string_view raw, char* out, std::size_t cap) noexcept {
    NormalizedPath r;
    if (cap < 2) {
        r.status = NormalizedPath::Status::not_found;
        return r;
    }
    out[0] = '/';
    std::size_t w = 1;  // out[0, w) is "/" or "/seg/seg/": always ends with '/'
    bool impossible = false;
    bool last_was_dir = true;
    std::size_t i = 0;
    if (!raw.empty() && raw[0] == '/') i = 1;
    while (i <= raw.size()) {
        std::size_t end = raw.find('/', i);
        if (end == std::string_view::npos) end = raw.size();
        // Decode the segment raw[i, end) in place at out[w...].
        std::size_t start = w;
        bool slash_inside = false;
        for (std::size_t k = i; k < end; ++k) {
            char c = raw[k];
            if (c == '%') {
                if (k + 2 >= end) {
                    r.status = NormalizedPath::Status::bad_request;
                    return r;
                }
                int h = http::hex_value(raw[k + 1]), l = http::hex_value(raw[k + 2]);
                if (h < 0 || l < 0) {
                    r.status = NormalizedPath::Status::bad_request;
                    return r;
                }
                c = static_cast<char>(h * 16 + l);
                k += 2;
            }
            if (c == '\0') {
                r.status = NormalizedPath::Status::bad_request;
                return r;
            }
            if (c == '/' || c == '\\') slash_inside = true;
            if (w >= cap) {
                impossible = true;  // keep scanning for 400s, write no more
                continue;
            }
            out[w++] = c;
        }
        std::size_t seg_len = w - start;
        std::string_view seg(out + start, seg_len);
        bool last = end == raw.size();
        if (seg_len == 0 || seg == ".") {
            w = start;
            last_was_dir = true;
        } else if (seg == "..") {
            w = start;
            if (w > 1) {  // drop the previous segment: back to the '/' before it
                std::size_t p = w - 1;
                while (p > 0 && out[p - 1] != '/') --p;
                w = p;
            }
            last_was_dir = true;
        } else {
            if (slash_inside || seg_len > kMaxName) impossible = true;
            if (!last) {
                if (w >= cap)
                    impossible = true;
                else
                    out[w++] = '/';
            }
            last_was_dir = false;
        }
        i = end + 1;
    }
    if (impossible) {
        r.status = NormalizedPath::Status::not_found;
        return r;
    }
    // A directory-like end ("", ".", "..") leaves out[w - 1] == '/'; a name does not.
    r.len = w;
    r.dir = last_was_dir;
    for (std::size_t k = 0; k + 1 < w; ++k)
        if (out[k] == '/' && out[k + 1] == '.') r.hidden = true;
    return r;
}

void encode_path(std::string_view path, std::string& out) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : path) {
        auto u = static_cast<unsigned char>(c);
        bool keep = http::is_unreserved_or_sub_delim(c) || c == '/' || c == ':' || c == '@';
        if (keep) {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
}

}  // namespace brisk::files
