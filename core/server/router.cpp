#include "server/router.hpp"

#include <algorithm>

#include "http/status.hpp"

namespace brisk {
namespace {

// A fixed answer (--respond, `respond =`): everything but Date is rendered once.
class FixedResponse final : public Handler {
public:
    FixedResponse(const RouteConfig& r, const Config& cfg)
        : status_(r.status), headers_("Content-Type: " + r.content_type + "\r\n"), body_(r.body) {
        prerendered_ = http::status_line(status_);
        if (!cfg.no_server_header) prerendered_ += "Server: " + cfg.server_name + "\r\n";
        prerendered_ += headers_;
        if (http::status_has_body(status_)) prerendered_ += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
    }

    void handle(const http::Request&, http::Response& resp) override {
        resp.status = status_;
        resp.headers = headers_;
        resp.body = body_;
        resp.prerendered = prerendered_;
    }

private:
    std::uint16_t status_;
    std::string headers_;
    std::string body_;
    std::string prerendered_;
};

std::unique_ptr<Handler> make_handler(const RouteConfig& r, const Config& cfg) {
    switch (r.kind) {
    case RouteKind::respond:
        return std::make_unique<FixedResponse>(r, cfg);
    }
    return nullptr;
}

}  // namespace

Router::Router(const Config& config) {
    for (const RouteConfig& r : config.routes) {
        auto& table = r.prefix ? prefixes_ : exact_;
        auto same = [&](const Entry& e) { return e.path == r.path; };
        if (std::find_if(table.begin(), table.end(), same) != table.end()) continue;
        handlers_.push_back(make_handler(r, config));
        table.push_back(Entry{r.path, handlers_.back().get()});
    }
    std::sort(exact_.begin(), exact_.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const Entry& a, const Entry& b) { return a.path.size() > b.path.size(); });
}

Handler* Router::match(std::string_view path) const noexcept {
    if (exact_.size() <= 8) {  // a short table: a scan beats the binary search
        for (const Entry& e : exact_)
            if (e.path.size() == path.size() && std::string_view(e.path) == path) return e.handler;
    } else if (auto it = std::lower_bound(exact_.begin(), exact_.end(), path,
                               [](const Entry& e, std::string_view p) { return std::string_view(e.path) < p; });
        it != exact_.end() && it->path == path) {
        return it->handler;
    }
    for (const Entry& e : prefixes_)
        if (path.substr(0, e.path.size()) == e.path) return e.handler;
    return nullptr;
}

}  // namespace brisk
