// brisk — the routing table: exact paths first, then prefixes, longest
// first; among routes of the same path, the order they were given. A route
// may restrict methods and host; a handler that declines passes the request
// on to the next route that matches.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brisk/config.hpp"
#include "http/request.hpp"
#include "server/handler.hpp"

namespace brisk {

class Router {
public:
    /**
     * `plugin_handler(name)` returns the handler of a plugin instance (owned
     * elsewhere); routes of other kinds get handlers the router owns.
     */
    template <class PluginLookup>
    Router(const Config& config, PluginLookup&& plugin_handler) {
        for (const RouteConfig& r : config.routes)
            add(r, config, r.kind == RouteKind::plugin ? plugin_handler(r.plugin) : nullptr);
        finish();
    }
    explicit Router(const Config& config) : Router(config, [](const std::string&) -> Handler* { return nullptr; }) {}

    /**
     * The first handler at or after `cursor` that matches the request, or
     * nullptr. `cursor` starts at 0 and is left just past the match, so that
     * calling again after a decline finds the next one.
     */
    Handler* match(const http::Request& req, std::size_t& cursor) const noexcept;

    /** Shorthand: the first handler for a GET of `path` with any host. */
    Handler* match(std::string_view path) const noexcept;

    /** Every distinct handler, for per-loop set-up. */
    std::vector<Handler*> handlers() const;

private:
    struct Entry {
        std::string path;
        std::uint32_t methods;  // bit per http::Method; 0 = all
        std::string host;       // lower-case, no port; empty = all
        Handler* handler;
    };
    void add(const RouteConfig& r, const Config& config, Handler* plugin);
    void finish();
    bool accepts(const Entry& e, const http::Request& req) const noexcept;

    std::vector<Entry> exact_;     // sorted by path, stable
    std::vector<Entry> prefixes_;  // longest first, stable
    std::vector<std::unique_ptr<Handler>> owned_;
};

}  // namespace brisk
