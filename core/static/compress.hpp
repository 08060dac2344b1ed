// brisk — on-the-fly compression of static files: gzip (zlib), br
// (brotli) and zstd, whole buffer at a time.
#pragma once

#include <string>
#include <string_view>

#include "static/accept.hpp"

namespace brisk::files {

/**
 * Compresses `in` with `e` at `level` (clamped to the coding's range) into
 * `out`. False on failure, or when the result is not smaller than `in`.
 */
bool compress(Encoding e, int level, std::string_view in, std::string& out);

}  // namespace brisk::files
