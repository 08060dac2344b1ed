// brisk — the handler of a static-files route (--root, --static, `static =`).
#pragma once

#include <memory>

#include "brisk/config.hpp"
#include "server/handler.hpp"

namespace brisk {

/**
 * The handler serving `route.static_files` under `route.path`. Opens the
 * root at once: throws brisk::Error when it is not a readable directory.
 */
std::unique_ptr<Handler> make_static_handler(const RouteConfig& route, const Config& config);

}  // namespace brisk
