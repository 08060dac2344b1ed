#include "server/router.hpp"

#include <algorithm>
#include <cstring>

#include "http/status.hpp"
#include "server/builtin_handlers.hpp"
#include "static/static_handler.hpp"

namespace brisk {
namespace {

// A fixed answer (--respond, `respond =`): everything but Date is rendered once.
class FixedResponse final : public Handler {
public:
    FixedResponse(const RouteConfig& r, const Config& cfg)
        : headers_("Content-Type: " + r.content_type + "\r\n"),
          body_(r.body),
          prerendered_(http::status_line(r.status)) {
        if (!cfg.no_server_header) prerendered_ += "Server: " + cfg.server_name + "\r\n";
        prerendered_ += headers_;
        if (http::status_has_body(r.status)) prerendered_ += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
        response_ = http::Response{r.status, headers_, body_, prerendered_};
    }

    Outcome handle(HandlerCall& call) override {
        call.reply.kind = Reply::Kind::simple;
        call.reply.simple = response_;
        return Outcome::done;
    }

private:
    std::string headers_;
    std::string body_;
    std::string prerendered_;
    http::Response response_;
};

constexpr std::pair<std::string_view, http::Method> kMethodNames[] = {
    {"GET", http::Method::get},     {"HEAD", http::Method::head},      {"POST", http::Method::post},
    {"PUT", http::Method::put},     {"DELETE", http::Method::delete_}, {"OPTIONS", http::Method::options},
    {"TRACE", http::Method::trace}, {"PATCH", http::Method::patch},
};

std::uint32_t method_mask(const std::vector<std::string>& methods) {
    std::uint32_t mask = 0;
    for (const std::string& m : methods)
        for (const auto& [name, method] : kMethodNames)
            if (m == name) mask |= 1u << static_cast<unsigned>(method);
    return mask;
}

// Equality with the cheap tests first: most paths differ in length or first byte.
inline bool same(const std::string& a, std::string_view b) noexcept {
    return a.size() == b.size() && (a.empty() || (a[0] == b[0] && std::memcmp(a.data(), b.data(), a.size()) == 0));
}

std::string_view without_port(std::string_view host) noexcept {
    if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
    return host.substr(0, host.find(':'));
}

}  // namespace

void Router::name_routes(const Config& config) {
    names_.assign(1, std::string());
    for (const RouteConfig& r : config.routes) names_.push_back(r.kind == RouteKind::plugin ? r.plugin : r.path);
}

void Router::add(const RouteConfig& r, const Config& config, Handler* plugin, std::uint32_t slot) {
    Handler* h = plugin;
    switch (r.kind) {
    case RouteKind::respond:
        owned_.push_back(std::make_unique<FixedResponse>(r, config));
        break;
    case RouteKind::static_files:
        owned_.push_back(make_static_handler(r, config));
        break;
    case RouteKind::metrics:
        owned_.push_back(make_metrics_handler(names_, shared_));
        break;
    case RouteKind::health:
        owned_.push_back(make_health_handler(shared_));
        break;
    case RouteKind::plugin:
        break;
    }
    if (r.kind != RouteKind::plugin) h = owned_.back().get();
    if (!h) return;
    std::string host;
    for (char c : without_port(r.host)) host += http::ascii_lower(c);
    (r.prefix ? prefixes_ : exact_).push_back(Entry{r.path, method_mask(r.methods), std::move(host), h, slot});
}

void Router::finish() {
    std::stable_sort(exact_.begin(), exact_.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const Entry& a, const Entry& b) { return a.path.size() > b.path.size(); });
}

bool Router::accepts(const Entry& e, const http::Request& req) const noexcept {
    if (!e.methods && e.host.empty()) return true;
    if (e.methods && !(e.methods & (1u << static_cast<unsigned>(req.method)))) return false;
    return e.host.empty() || http::iequals(e.host, without_port(req.host));
}

Handler* Router::match(const http::Request& req, std::size_t& cursor) const noexcept {
    const std::string_view path = req.path;
    // Exact entries are positions [0, exact_.size()), prefixes follow.
    std::size_t i = cursor;
    if (i < exact_.size()) {
        // Entries of one path are neighbours: find the first (or go on after
        // the one that declined), then try each while the path is the same.
        if (i == 0) {
            if (exact_.size() <= 8) {  // a short table: a scan beats the binary search
                while (i < exact_.size() && !same(exact_[i].path, path)) ++i;
            } else {
                auto it = std::lower_bound(exact_.begin(), exact_.end(), path, [](const Entry& e, std::string_view p) {
                    return std::string_view(e.path) < p;
                });
                i = it != exact_.end() && same(it->path, path) ? static_cast<std::size_t>(it - exact_.begin())
                                                               : exact_.size();
            }
        } else if (!same(exact_[i].path, path)) {
            i = exact_.size();
        }
        while (i < exact_.size()) {
            const Entry& e = exact_[i++];
            if (accepts(e, req)) {
                cursor = i;
                return e.handler;
            }
            if (i < exact_.size() && !same(exact_[i].path, path)) break;
        }
        i = exact_.size();
    }
    for (std::size_t j = i - exact_.size(); j < prefixes_.size(); ++j) {
        const Entry& e = prefixes_[j];
        if (path.substr(0, e.path.size()) == e.path && accepts(e, req)) {
            cursor = exact_.size() + j + 1;
            return e.handler;
        }
    }
    cursor = exact_.size() + prefixes_.size();
    return nullptr;
}

std::uint32_t Router::methods_for(const http::Request& req) const noexcept {
    std::uint32_t allowed = 0;
    auto visit = [&](const Entry& e) {
        if (!e.host.empty() && !http::iequals(e.host, without_port(req.host))) return true;
        if (!e.methods) return false;  // a route that takes every method: no 405
        allowed |= e.methods;
        return true;
    };
    for (const Entry& e : exact_)
        if (same(e.path, req.path) && !visit(e)) return 0;
    for (const Entry& e : prefixes_)
        if (req.path.substr(0, e.path.size()) == e.path && !visit(e)) return 0;
    return allowed;
}

std::string Router::allow_field(std::uint32_t methods) {
    std::string out = "Allow: ";
    for (const auto& [name, method] : kMethodNames) {
        if (!(methods & (1u << static_cast<unsigned>(method)))) continue;
        if (out.size() > 7) out += ", ";
        out += name;
    }
    return out + "\r\n";
}

Handler* Router::match(std::string_view path) const noexcept {
    http::Request req;
    req.path = path;
    std::size_t cursor = 0;
    return match(req, cursor);
}

std::vector<Handler*> Router::handlers() const {
    std::vector<Handler*> out;
    for (const auto* table : {&exact_, &prefixes_})
        for (const Entry& e : *table)
            if (std::find(out.begin(), out.end(), e.handler) == out.end()) out.push_back(e.handler);
    return out;
}

}  // namespace brisk
