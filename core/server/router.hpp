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

struct Shared;

class Router {
public:
    /**
     * `plugin_handler(name)` returns the handler of a plugin instance (owned
     * elsewhere); routes of other kinds get handlers the router owns. The
     * metrics and health routes read `shared` (may be null in tests).
     */
    template <class PluginLookup>
    Router(const Config& config, PluginLookup&& plugin_handler, const Shared* shared = nullptr) : shared_(shared) {
        name_routes(config);
        for (std::size_t i = 0; i < config.routes.size(); ++i) {
            const RouteConfig& r = config.routes[i];
            add(r, config, r.kind == RouteKind::plugin ? plugin_handler(r.plugin) : nullptr,
                static_cast<std::uint32_t>(i + 1));
        }
        finish();
    }
    explicit Router(const Config& config) : Router(config, [](const std::string&) -> Handler* { return nullptr; }) {}

    /**
     * The first handler at or after `cursor` that matches the request, or
     * nullptr. `cursor` starts at 0 and is left just past the match, so that
     * calling again after a decline finds the next one.
     */
    Handler* match(const http::Request& req, std::size_t& cursor) const noexcept;

    /**
     * The methods the routes of the request's path and host take, when each
     * of them is limited to some methods (0 when there is none, or one takes
     * every method): a request of another method gets 405 with them.
     */
    std::uint32_t methods_for(const http::Request& req) const noexcept;
    /** "Allow: GET, HEAD\r\n" for a mask of methods_for(). */
    static std::string allow_field(std::uint32_t methods);

    /** Shorthand: the first handler for a GET of `path` with any host. */
    Handler* match(std::string_view path) const noexcept;

    /**
     * The route slot of the handler match() returned last with this cursor:
     * 1 + its index in Config::routes. Only valid right after a match.
     */
    std::uint32_t route_slot(std::size_t cursor) const noexcept {
        std::size_t i = cursor - 1;
        return i < exact_.size() ? exact_[i].slot : prefixes_[i - exact_.size()].slot;
    }

    /**
     * A name per route slot: the plugin instance of a plugin route, else the
     * path or prefix. Slot 0 is "" (no route: 404s, refused requests).
     */
    const std::vector<std::string>& route_names() const noexcept { return names_; }

    /** Every distinct handler, for per-loop set-up. */
    std::vector<Handler*> handlers() const;

private:
    struct Entry {
        std::string path;
        std::uint32_t methods;  // bit per http::Method; 0 = all
        std::string host;       // lower-case, no port; empty = all
        Handler* handler;
        std::uint32_t slot;  // route_names() index
    };
    void name_routes(const Config& config);
    void add(const RouteConfig& r, const Config& config, Handler* plugin, std::uint32_t slot);
    void finish();
    bool accepts(const Entry& e, const http::Request& req) const noexcept;

    std::vector<Entry> exact_;     // sorted by path, stable
    std::vector<Entry> prefixes_;  // longest first, stable
    std::vector<std::unique_ptr<Handler>> owned_;
    std::vector<std::string> names_;
    const Shared* shared_ = nullptr;
};

}  // namespace brisk
