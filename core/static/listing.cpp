#include "static/listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "http/request.hpp"
#include "static/path.hpp"

namespace brisk::files {
namespace {

bool less_folded(const std::string& a, const std::string& b) noexcept {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        char x = http::ascii_lower(a[i]), y = http::ascii_lower(b[i]);
        if (x != y) return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
    }
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
}

void human_size(std::uint64_t n, std::string& out) {
    char buf[32];
    if (n < 1024) {
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    } else {
        static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = static_cast<double>(n) / 1024.0;
        std::size_t u = 0;
        while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
            v /= 1024.0;
            ++u;
        }
        std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
    }
    out += buf;
}

}  // namespace

void html_escape(std::string_view text, std::string& out) {
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
            break;
        }
    }
}

bool read_directory(int dirfd, bool dotfiles, std::size_t max, std::vector<ListingItem>& out, std::size_t& more) {
    more = 0;
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return false;
    }
    while (dirent* de = ::readdir(d)) {
        std::string_view name = de->d_name;
        if (name == "." || name == "..") continue;
        if (!dotfiles && name[0] == '.') continue;
        if (out.size() >= max) {
            ++more;
            continue;
        }
        ListingItem item;
        item.name = name;
        struct stat st {};
        if (::fstatat(dirfd, de->d_name, &st, 0) == 0) {
            item.dir = S_ISDIR(st.st_mode);
            item.size = static_cast<std::uint64_t>(st.st_size);
            item.mtime = st.st_mtim.tv_sec;
        } else {
            item.known = false;
            item.dir = de->d_type == DT_DIR;
        }
        out.push_back(std::move(item));
    }
    ::closedir(d);
    return true;
}

void render_listing(std::vector<ListingItem>& items, std::size_t more, std::string_view url_path, bool parent,
                    std::string& out) {
    std::sort(items.begin(), items.end(), [](const ListingItem& a, const ListingItem& b) {
        if (a.dir != b.dir) return a.dir;
        return less_folded(a.name, b.name);
    });
    out +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Index of ";
    html_escape(url_path, out);
    out +=
        "</title>\n<style>\n"
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}\n"
        "h1{font-size:1.3em;font-weight:600;word-break:break-all}\n"
        "table{border-collapse:collapse;width:100%}\n"
        "th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid #eee;white-space:nowrap}\n"
        "td.n{white-space:normal;word-break:break-all;width:100%}\n"
        "td.s,th.s{text-align:right}\n"
        "a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}\n"
        "footer{color:#888;font-size:.85em;margin-top:1em}\n"
        "</style>\n</head>\n<body>\n<h1>Index of ";
    html_escape(url_path, out);
    out +=
        "</h1>\n<table>\n<thead><tr><th>Name</th><th class=\"s\">Size</th><th>Modified (UTC)</th></tr></thead>\n"
        "<tbody>\n";
    if (parent) out += "<tr><td class=\"n\"><a href=\"../\">../</a></td><td class=\"s\">-</td><td></td></tr>\n";
    std::string href;
    for (const ListingItem& it : items) {
        href.assign("./");
        encode_path(it.name, href);
        // encode_path keeps '/', which no name holds, and a few sub-delims; quotes are encoded.
        if (it.dir) href += '/';
        out += "<tr><td class=\"n\"><a href=\"";
        html_escape(href, out);
        out += "\">";
        html_escape(it.name, out);
        if (it.dir) out += '/';
        out += "</a></td><td class=\"s\"";
        if (it.known && !it.dir) {
            out += " title=\"";
            out += std::to_string(it.size);
            out += " bytes\">";
            human_size(it.size, out);
        } else {
            out += ">-";
        }
        out += "</td><td>";
        if (it.known) {
            char buf[32];
            std::tm tm{};
            auto t = static_cast<std::time_t>(it.mtime);
            gmtime_r(&t, &tm);
            std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
            out.append(buf, n);
        }
        out += "</td></tr>\n";
    }
    out += "</tbody>\n</table>\n";
    if (more) {
        out += "<footer>";
        out += std::to_string(more);
        out += " more entries not shown.</footer>\n";
    }
    out += "</body>\n</html>\n";
}

}  // namespace brisk::files
