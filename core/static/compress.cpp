#include "static/compress.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>

namespace brisk::files {
namespace {

bool gzip(int level, std::string_view in, std::string& out) {
    z_stream zs{};
    if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    std::size_t n = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return false;
    out.resize(n);
    return true;
}

bool brotli(int level, std::string_view in, std::string& out) {
    std::size_t n = BrotliEncoderMaxCompressedSize(in.size());
    if (n == 0) return false;
    out.resize(n);
    if (!BrotliEncoderCompress(std::clamp(level, 0, 11), BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                               reinterpret_cast<const std::uint8_t*>(in.data()), &n,
                               reinterpret_cast<std::uint8_t*>(out.data())))
        return false;
    out.resize(n);
    return true;
}

bool zstd(int level, std::string_view in, std::string& out) {
    out.resize(ZSTD_compressBound(in.size()));
    std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), std::clamp(level, 1, ZSTD_maxCLevel()));
    if (ZSTD_isError(n)) return false;
    out.resize(n);
    return true;
}

}  // namespace

bool compress(Encoding e, int level, std::string_view in, std::string& out) {
    if (in.size() > (std::size_t{1} << 31)) return false;  // zlib's counters are 32-bit
    bool ok = false;
    switch (e) {
    case Encoding::gzip:
        ok = gzip(level, in, out);
        break;
    case Encoding::br:
        ok = brotli(level, in, out);
        break;
    case Encoding::zstd:
        ok = zstd(level, in, out);
        break;
    case Encoding::identity:
        break;
    }
    if (!ok || out.size() >= in.size()) {
        out.clear();
        out.shrink_to_fit();
        return false;
    }
    out.shrink_to_fit();
    return true;
}

}  // namespace brisk::files
