// brisk — the options of a static-file route (see brisk/static_options.hpp).
#include "brisk/static_options.hpp"

#include <algorithm>
#include <array>

namespace brisk {
namespace static_files {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool check_index_name(std::string_view file, std::string& error) {
    if (!file.empty() && file.find('/') == std::string_view::npos && file != "." && file != "..") return true;
    error = quoted(file) + " is not a file name";
    return false;
}

bool check_coding(std::string_view coding, std::string& error) {
    for (std::string_view known : {"br", "zst", "zstd", "gz", "gzip"})
        if (coding == known) return true;
    error = "unknown coding " + quoted(coding) + " (use \"br\", \"zst\" or \"gz\")";
    return false;
}

bool check_header_value(std::string_view value, std::string& error) {
    if (is_header_value(value)) return true;
    error = quoted(value) + " is not a valid header value";
    return false;
}

bool mime_extension(std::string_view ext, std::string& out, std::string& error) {
    std::string_view e = ext;
    if (e.starts_with('.')) e.remove_prefix(1);
    if (e.empty() || e.find('.') != std::string_view::npos || e.find('/') != std::string_view::npos) {
        error = quoted(ext) + " is not a file extension";
        return false;
    }
    out = std::string(e);
    return true;
}

bool add_mime(StaticConfig& out, std::string_view ext, std::string_view type, std::string& error) {
    if (!check_header_value(type, error)) return false;
    out.mime.emplace_back(std::string(ext), std::string(type));
    return true;
}

constexpr Option flag(std::string_view key, bool StaticConfig::*field) {
    Option o{key, OptionKind::flag, "true or false"};
    o.flag = field;
    return o;
}

constexpr Option level(std::string_view key, int StaticConfig::*field, int min, int max) {
    Option o{key, OptionKind::level, "an integer"};
    o.level = field;
    o.min = min;
    o.max = max;
    return o;
}

constexpr Option text(std::string_view key, std::string_view expected, std::string StaticConfig::*field,
                      bool (*check)(std::string_view, std::string&)) {
    Option o{key, OptionKind::text, expected};
    o.text = field;
    o.check = check;
    return o;
}

constexpr Option names(std::string_view key, std::vector<std::string> StaticConfig::*field,
                       bool (*check)(std::string_view, std::string&)) {
    Option o{key, OptionKind::names, "an array of strings"};
    o.names = field;
    o.check = check;
    return o;
}

const std::array kOptions{
    text("root", "a string", &StaticConfig::root, check_static_root),
    names("index", &StaticConfig::index, check_index_name),
    flag("listing", &StaticConfig::listing),
    flag("compress", &StaticConfig::compress),
    level("gzip_level", &StaticConfig::gzip_level, 1, 9),
    level("brotli_level", &StaticConfig::brotli_level, 0, 11),
    level("zstd_level", &StaticConfig::zstd_level, 1, 22),
    [] {
        Option o{"compress_max_size", OptionKind::size, "a size such as \"1MiB\" or a number of bytes"};
        o.size = &StaticConfig::compress_max_size;
        return o;
    }(),
    text("compress_cache", "a directory", &StaticConfig::compress_cache, check_static_root),
    names("precompressed", &StaticConfig::precompressed, check_coding),
    flag("ranges", &StaticConfig::ranges),
    flag("etag", &StaticConfig::etag),
    [] {
        Option o{"cache_duration", OptionKind::duration, "a duration string such as \"10s\""};
        o.duration = &StaticConfig::cache_duration;
        return o;
    }(),
    flag("dotfiles", &StaticConfig::dotfiles),
    flag("follow_symlinks", &StaticConfig::follow_symlinks),
    [] {
        Option o{"mime", OptionKind::table, "a table of extension = \"type\""};
        o.entry_name = mime_extension;
        o.add = add_mime;
        return o;
    }(),
    text("cache_control", "a string such as \"max-age=60\"", &StaticConfig::cache_control, check_header_value),
};

}  // namespace

std::span<const Option> route_options() { return kOptions; }

const Option* find_route_option(std::string_view key) {
    auto it = std::find_if(kOptions.begin(), kOptions.end(), [&](const Option& o) { return o.key == key; });
    return it == kOptions.end() ? nullptr : &*it;
}

}  // namespace static_files

bool check_static_root(std::string_view dir, std::string& error) {
    // Whether it is a directory is checked when the server starts, relative
    // to the directory it starts in (as plugin files are).
    if (dir.empty()) {
        error = "no directory given";
        return false;
    }
    if (dir.find('\0') != std::string_view::npos) {
        error = "a directory name cannot hold a NUL byte";
        return false;
    }
    return true;
}

bool is_header_value(std::string_view value) {
    if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
    return std::all_of(value.begin(), value.end(), [](char c) { return c >= ' ' && c < 0x7f; });
}

}  // namespace brisk
