// brisk — the handlers of the metrics and health routes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/handler.hpp"

namespace brisk {

struct Shared;

/**
 * The Prometheus text exposition (format 0.0.4) of every loop's counters.
 * `route_names[i]` labels route slot i (slot 0: "-", answers no route gave).
 * Without `shared` (unit tests) it answers the metrics that need none.
 */
std::unique_ptr<Handler> make_metrics_handler(const std::vector<std::string>& route_names, const Shared* shared);

/** 200 "ok" while serving; 503 "draining" once the server is stopping. */
std::unique_ptr<Handler> make_health_handler(const Shared* shared);

}  // namespace brisk
