// brisk — the routing table: exact paths first, then the longest prefix.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brisk/config.hpp"
#include "server/handler.hpp"

namespace brisk {

class Router {
public:
    /** Builds handlers for every route; an earlier route wins over a later one for the same path. */
    explicit Router(const Config& config);

    /** The handler for `path`, or nullptr (404). */
    Handler* match(std::string_view path) const noexcept;

private:
    struct Entry {
        std::string path;
        Handler* handler;
    };
    std::vector<Entry> exact_;     // sorted by path
    std::vector<Entry> prefixes_;  // longest first
    std::vector<std::unique_ptr<Handler>> handlers_;
};

}  // namespace brisk
