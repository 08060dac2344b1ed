#include "static/mime.hpp"

#include <algorithm>

#include "http/request.hpp"

namespace brisk::files {
namespace {

// Sorted by extension (byte order); tests/unit/static/mime_test.cpp checks it.
constexpr MimeEntry kTable[] = {
    {"7z", "application/x-7z-compressed", false},
    {"aac", "audio/aac", false},
    {"apk", "application/vnd.android.package-archive", false},
    {"apng", "image/apng", false},
    {"appcache", "text/cache-manifest; charset=utf-8", true},
    {"atom", "application/atom+xml; charset=utf-8", true},
    {"avi", "video/x-msvideo", false},
    {"avif", "image/avif", false},
    {"bin", "application/octet-stream", false},
    {"bmp", "image/bmp", true},
    {"bz2", "application/x-bzip2", false},
    {"cjs", "text/javascript; charset=utf-8", true},
    {"crt", "application/x-x509-ca-cert", false},
    {"css", "text/css; charset=utf-8", true},
    {"csv", "text/csv; charset=utf-8", true},
    {"deb", "application/vnd.debian.binary-package", false},
    {"der", "application/x-x509-ca-cert", false},
    {"diff", "text/x-diff; charset=utf-8", true},
    {"dmg", "application/x-apple-diskimage", false},
    {"doc", "application/msword", true},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
    {"eot", "application/vnd.ms-fontobject", true},
    {"eps", "application/postscript", true},
    {"epub", "application/epub+zip", false},
    {"exe", "application/vnd.microsoft.portable-executable", true},
    {"flac", "audio/flac", false},
    {"flv", "video/x-flv", false},
    {"geojson", "application/geo+json; charset=utf-8", true},
    {"gif", "image/gif", false},
    {"glb", "model/gltf-binary", true},
    {"gltf", "model/gltf+json", true},
    {"gpx", "application/gpx+xml; charset=utf-8", true},
    {"gz", "application/gzip", false},
    {"heic", "image/heic", false},
    {"heif", "image/heif", false},
    {"htm", "text/html; charset=utf-8", true},
    {"html", "text/html; charset=utf-8", true},
    {"ico", "image/vnd.microsoft.icon", true},
    {"ics", "text/calendar; charset=utf-8", true},
    {"iso", "application/x-iso9660-image", false},
    {"jar", "application/java-archive", false},
    {"jpeg", "image/jpeg", false},
    {"jpg", "image/jpeg", false},
    {"js", "text/javascript; charset=utf-8", true},
    {"json", "application/json; charset=utf-8", true},
    {"jsonld", "application/ld+json; charset=utf-8", true},
    {"jxl", "image/jxl", false},
    {"kml", "application/vnd.google-earth.kml+xml; charset=utf-8", true},
    {"kmz", "application/vnd.google-earth.kmz", false},
    {"log", "text/plain; charset=utf-8", true},
    {"m3u8", "application/vnd.apple.mpegurl", true},
    {"m4a", "audio/mp4", false},
    {"m4v", "video/mp4", false},
    {"map", "application/json; charset=utf-8", true},
    {"markdown", "text/markdown; charset=utf-8", true},
    {"md", "text/markdown; charset=utf-8", true},
    {"mid", "audio/midi", false},
    {"midi", "audio/midi", false},
    {"mjs", "text/javascript; charset=utf-8", true},
    {"mkv", "video/x-matroska", false},
    {"mov", "video/quicktime", false},
    {"mp3", "audio/mpeg", false},
    {"mp4", "video/mp4", false},
    {"mpd", "application/dash+xml; charset=utf-8", true},
    {"mpeg", "video/mpeg", false},
    {"mpg", "video/mpeg", false},
    {"msi", "application/x-msdownload", false},
    {"odp", "application/vnd.oasis.opendocument.presentation", false},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet", false},
    {"odt", "application/vnd.oasis.opendocument.text", false},
    {"oga", "audio/ogg", false},
    {"ogg", "audio/ogg", false},
    {"ogv", "video/ogg", false},
    {"opus", "audio/ogg", false},
    {"otf", "font/otf", true},
    {"patch", "text/x-diff; charset=utf-8", true},
    {"pdf", "application/pdf", false},
    {"png", "image/png", false},
    {"ppt", "application/vnd.ms-powerpoint", true},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
    {"ps", "application/postscript", true},
    {"rar", "application/vnd.rar", false},
    {"rpm", "application/x-rpm", false},
    {"rss", "application/rss+xml; charset=utf-8", true},
    {"rtf", "application/rtf", true},
    {"sh", "application/x-sh; charset=utf-8", true},
    {"shtml", "text/html; charset=utf-8", true},
    {"sql", "application/sql; charset=utf-8", true},
    {"srt", "application/x-subrip; charset=utf-8", true},
    {"stl", "model/stl", true},
    {"svg", "image/svg+xml", true},
    {"tar", "application/x-tar", true},
    {"text", "text/plain; charset=utf-8", true},
    {"tgz", "application/gzip", false},
    {"tif", "image/tiff", true},
    {"tiff", "image/tiff", true},
    {"toml", "application/toml; charset=utf-8", true},
    {"ts", "video/mp2t", false},
    {"tsv", "text/tab-separated-values; charset=utf-8", true},
    {"ttf", "font/ttf", true},
    {"txt", "text/plain; charset=utf-8", true},
    {"vcf", "text/vcard; charset=utf-8", true},
    {"vtt", "text/vtt; charset=utf-8", true},
    {"wasm", "application/wasm", true},
    {"wav", "audio/wav", true},
    {"weba", "audio/webm", false},
    {"webm", "video/webm", false},
    {"webmanifest", "application/manifest+json; charset=utf-8", true},
    {"webp", "image/webp", false},
    {"wmv", "video/x-ms-wmv", false},
    {"woff", "font/woff", false},
    {"woff2", "font/woff2", false},
    {"xhtml", "application/xhtml+xml; charset=utf-8", true},
    {"xls", "application/vnd.ms-excel", true},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
    {"xml", "application/xml; charset=utf-8", true},
    {"xsd", "application/xml; charset=utf-8", true},
    {"xsl", "application/xml; charset=utf-8", true},
    {"xz", "application/x-xz", false},
    {"yaml", "application/yaml; charset=utf-8", true},
    {"yml", "application/yaml; charset=utf-8", true},
    {"zip", "application/zip", false},
    {"zst", "application/zstd", false},
};

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view base_type(std::string_view type) noexcept {
    std::size_t semi = type.find(';');
    type = type.substr(0, semi);
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    return type;
}

// The extension of `name` in lower case into `buf`; empty if none or too long.
std::string_view extension(std::string_view name, char (&buf)[16]) noexcept {
    std::size_t slash = name.rfind('/');
    if (slash != std::string_view::npos) name = name.substr(slash + 1);
    std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
    std::string_view ext = name.substr(dot + 1);
    if (ext.size() > sizeof buf) return {};
    for (std::size_t i = 0; i < ext.size(); ++i) buf[i] = http::ascii_lower(ext[i]);
    return {buf, ext.size()};
}

}  // namespace

const MimeEntry* mime_table(std::size_t& count) noexcept {
    count = std::size(kTable);
    return kTable;
}

bool is_text_type(std::string_view type) noexcept {
    type = base_type(type);
    if (type.substr(0, 5) == "text/") return true;
    if (type.substr(0, 12) != "application/") return false;
    std::string_view sub = type.substr(12);
    for (std::string_view t : {"json", "javascript", "xml", "yaml", "toml", "x-sh", "sql", "x-subrip"})
        if (sub == t) return true;
    return ends_with(sub, "+json") || ends_with(sub, "+xml");
}

bool is_compressible_type(std::string_view type) noexcept {
    if (is_text_type(type)) return true;
    type = base_type(type);
    for (std::string_view t : {"image/svg+xml", "image/bmp", "image/vnd.microsoft.icon", "image/x-icon", "font/ttf",
                               "font/otf", "application/wasm", "application/vnd.ms-fontobject"})
        if (type == t) return true;
    return false;
}

MimeTable::MimeTable(const std::vector<std::pair<std::string, std::string>>& extra) {
    for (const auto& [ext, type] : extra) {
        Extra e;
        for (char c : std::string_view(ext).substr(!ext.empty() && ext[0] == '.' ? 1 : 0))
            e.ext += http::ascii_lower(c);
        e.type = type;
        if (is_text_type(type) && type.find(';') == std::string::npos) e.type += "; charset=utf-8";
        e.compressible = is_compressible_type(type);
        extra_.push_back(std::move(e));
    }
}

MimeType MimeTable::lookup(std::string_view name) const noexcept {
    char buf[16];
    std::string_view ext = extension(name, buf);
    if (ext.empty()) return MimeType{kDefaultMime, false};
    for (auto it = extra_.rbegin(); it != extra_.rend(); ++it)  // the last entry given wins
        if (it->ext == ext) return MimeType{it->type, it->compressible};
    const MimeEntry* end = kTable + std::size(kTable);
    const MimeEntry* it =
        std::lower_bound(kTable, end, ext, [](const MimeEntry& e, std::string_view x) { return e.ext < x; });
    if (it != end && it->ext == ext) return MimeType{it->type, it->compressible};
    return MimeType{kDefaultMime, false};
}

}  // namespace brisk::files
