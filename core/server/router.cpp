#include "server/router.hpp"

#include <algorithm>

namespace brisk {
namespace {

// A fixed answer (--respond, `respond =`): everything but Date is rendered once.
class FixedResponse final : public Handler {
public:
    explicit FixedResponse(const RouteConfig& r)
        : status_(r.status), headers_("Content-Type: " + r.content_type + "\r\n"), body_(r.body) {}

    void handle(const http::Request&, http::Response& resp) override {
        resp.status = status_;
        resp.headers = headers_;
        resp.body = body_;
    }

private:
    std::uint16_t status_;
    std::string headers_;
    std::string body_;
};

std::unique_ptr<Handler> make_handler(const RouteConfig& r) {
    switch (r.kind) {
    case RouteKind::respond:
        return std::make_unique<FixedResponse>(r);
    }
    return nullptr;
}

}  // namespace

Router::Router(const std::vector<RouteConfig>& routes) {
    for (const RouteConfig& r : routes) {
        auto& table = r.prefix ? prefixes_ : exact_;
        auto same = [&](const Entry& e) { return e.path == r.path; };
        if (std::find_if(table.begin(), table.end(), same) != table.end()) continue;
        handlers_.push_back(make_handler(r));
        table.push_back(Entry{r.path, handlers_.back().get()});
    }
    std::sort(exact_.begin(), exact_.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const Entry& a, const Entry& b) { return a.path.size() > b.path.size(); });
}

Handler* Router::match(std::string_view path) const noexcept {
    auto it = std::lower_bound(exact_.begin(), exact_.end(), path,
                               [](const Entry& e, std::string_view p) { return std::string_view(e.path) < p; });
    if (it != exact_.end() && it->path == path) return it->handler;
    for (const Entry& e : prefixes_)
        if (path.substr(0, e.path.size()) == e.path) return e.handler;
    return nullptr;
}

}  // namespace brisk
