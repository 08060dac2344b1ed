// brisk — metrics and health routes (see builtin_handlers.hpp).
#include "net/tls.hpp"
#include "server/builtin_handlers.hpp"

#include <cstdio>
#include <string_view>

#include "server/access_log.hpp"
#include "server/shared.hpp"
#include "server/suspend.hpp"

namespace brisk {
namespace {

constexpr std::string_view kPlainNoStore = "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n";
constexpr std::string_view kExposition =
    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: no-store\r\n";

class HealthHandler final : public Handler {
public:
    explicit HealthHandler(const Shared* shared) : shared_(shared) {}
    Outcome handle(HandlerCall& call) override {
        bool draining = shared_ && shared_->draining.load(std::memory_order_relaxed);
        call.reply.kind = Reply::Kind::simple;
        call.reply.simple = draining ? http::Response{503, kPlainNoStore, "draining\n", {}}
                                     : http::Response{200, kPlainNoStore, "ok\n", {}};
        return Outcome::done;
    }

private:
    const Shared* shared_;
};

// A label value: '\\', '"' and line feeds escaped.
void put_label(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, std::uint64_t v) {
    head(out, name, type, help);
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
}

std::string seconds(std::uint64_t us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(us / 1000000),
                  static_cast<unsigned long long>(us % 1000000));
    return buf;
}

// "0.0001", "0.25", "1", "2.5": a bucket bound in seconds without trailing zeros.
std::string bound(std::uint64_t us) {
    std::string s = seconds(us);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

class MetricsHandler final : public Handler {
public:
    MetricsHandler(const std::vector<std::string>& route_names, const Shared* shared) : shared_(shared) {
        // Routes that share a name (one path for several methods, one plugin
        // instance at several prefixes) share a series.
        for (std::size_t i = 0; i < route_names.size(); ++i) {
            std::string name = i == 0 ? std::string("-") : route_names[i];
            std::size_t s = 0;
            while (s < series_.size() && series_[s] != name) ++s;
            if (s == series_.size()) series_.push_back(name);
            slot_series_.push_back(s);
        }
    }

    Outcome handle(HandlerCall& call) override {
        thread_local std::string body;  // one per loop thread; copied into the output before handle() returns
        body.clear();
        render(body);
        call.reply.kind = Reply::Kind::simple;
        call.reply.simple = http::Response{200, kExposition, body, {}};
        return Outcome::done;
    }

private:
    void render(std::string& out) const {
        static constexpr std::string_view kClasses[kStatusClasses] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
        std::vector<std::uint64_t> requests(series_.size() * kStatusClasses), errors(series_.size());
        std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> latency{};
        std::uint64_t latency_sum = 0, bytes_in = 0, bytes_out = 0, accepted = 0, rej_conc = 0, rej_ip = 0,
                      rej_blocking = 0, open = 0, workers = 0, workers_idle = 0, tls_done = 0, tls_resumed = 0;
        std::array<std::uint64_t, tls::kFailures> tls_failed{};
        const auto* stats = shared_ ? &shared_->stats : nullptr;
        if (stats) {
            for (const auto& ls : *stats) {
                for (std::size_t slot = 0; slot < ls->slots && slot < slot_series_.size(); ++slot) {
                    std::size_t s = slot_series_[slot];
                    for (std::size_t c = 0; c < kStatusClasses; ++c)
                        requests[s * kStatusClasses + c] += get(ls->requests[slot * kStatusClasses + c]);
                    errors[s] += get(ls->handler_errors[slot]);
                }
                for (std::size_t b = 0; b < latency.size(); ++b) latency[b] += get(ls->latency[b]);
                latency_sum += get(ls->latency_sum_us);
                bytes_in += get(ls->bytes_in);
                bytes_out += get(ls->bytes_out);
                accepted += get(ls->accepted);
                rej_conc += get(ls->rejected_concurrency);
                rej_ip += get(ls->rejected_per_ip);
                rej_blocking += get(ls->rejected_blocking_queue);
                tls_done += get(ls->tls_handshakes);
                tls_resumed += get(ls->tls_resumed);
                for (std::size_t f = 0; f < tls_failed.size(); ++f) tls_failed[f] += get(ls->tls_failed[f]);
                open += get(ls->open);
                std::uint64_t w = get(ls->workers), wi = get(ls->workers_idle);
                workers += w;
                workers_idle += wi < w ? wi : w;
            }
        }
        const std::uint64_t busy = workers - workers_idle;

        head(out, "brisk_requests_total", "counter",
             "Requests answered, by route (\"-\": none, as for a 404 or a refused request) and status class.");
        for (std::size_t s = 0; s < series_.size(); ++s) {
            for (std::size_t c = 0; c < kStatusClasses; ++c) {
                out += "brisk_requests_total{route=\"";
                put_label(out, series_[s]);
                out += "\",code=\"";
                out += kClasses[c];
                out += "\"} ";
                out += std::to_string(requests[s * kStatusClasses + c]);
                out += '\n';
            }
        }
        head(out, "brisk_handler_errors_total", "counter",
             "Requests whose handler failed (a plugin error or exception): answered 500, or cut off.");
        for (std::size_t s = 1; s < series_.size(); ++s) {
            out += "brisk_handler_errors_total{route=\"";
            put_label(out, series_[s]);
            out += "\"} ";
            out += std::to_string(errors[s]);
            out += '\n';
        }
        head(out, "brisk_request_duration_seconds", "histogram",
             "Time from a request's first byte to its answer being queued for sending.");
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < latency.size(); ++b) {
            cumulative += latency[b];
            out += "brisk_request_duration_seconds_bucket{le=\"";
            out += b < kLatencyBucketsUs.size() ? bound(kLatencyBucketsUs[b]) : std::string("+Inf");
            out += "\"} ";
            out += std::to_string(cumulative);
            out += '\n';
        }
        out += "brisk_request_duration_seconds_sum " + seconds(latency_sum) + "\n";
        out += "brisk_request_duration_seconds_count " + std::to_string(cumulative) + "\n";

        metric(out, "brisk_connections_open", "gauge", "Open client connections.", open);
        metric(out, "brisk_connections_busy", "gauge",
               "Connections with a request in progress or an answer being sent.", busy < open ? busy : open);
        metric(out, "brisk_connections_idle", "gauge", "Connections waiting for a request (keep-alive) or closing.",
               open > busy ? open - busy : 0);
        metric(out, "brisk_connections_accepted_total", "counter", "Connections accepted.", accepted);
        metric(out, "brisk_workers", "gauge",
               "Request workers (buffers and request state) the loops hold, busy or spare.", workers);
        metric(out, "brisk_workers_idle", "gauge", "Spare request workers, kept for reuse.", workers_idle);
        metric(out, "brisk_loops", "gauge", "Event loops.", stats ? stats->size() : 0);
        metric(out, "brisk_blocking_threads", "gauge", "Threads for plugin handlers that may block.",
               shared_ ? shared_->blocking_threads : 0);
        metric(out, "brisk_suspended_requests", "gauge",
               "Requests a plugin suspended (plugin ABI 1.1) and has not answered yet.", Suspensions::get().pending());
        metric(out, "brisk_open_streams", "gauge",
               "Responses a plugin streams over time (plugin ABI 1.1) whose end has not been given yet.",
               Suspensions::get().streams());
        metric(out, "brisk_upgraded_connections", "gauge",
               "Connections a plugin took over (101 Switching Protocols, plugin ABI 1.1) that are open.",
               Suspensions::get().upgraded());
        head(out, "brisk_rejected_connections_total", "counter",
             "Connections refused at accept: 503 over --concurrency, 429 over --max-conns-per-ip.");
        out += "brisk_rejected_connections_total{reason=\"concurrency\"} " + std::to_string(rej_conc) + "\n";
        out += "brisk_rejected_connections_total{reason=\"per_ip\"} " + std::to_string(rej_ip) + "\n";
        if (shared_ && shared_->tls) {
            metric(out, "brisk_tls_handshakes_total", "counter", "TLS handshakes completed.", tls_done);
            metric(out, "brisk_tls_resumed_handshakes_total", "counter",
                   "TLS handshakes that resumed a session (a ticket).", tls_resumed);
            head(out, "brisk_tls_handshake_failures_total", "counter",
                 "TLS connections closed before their handshake completed (timeout: also before the first request).");
            for (std::size_t f = 0; f < tls_failed.size(); ++f)
                out += "brisk_tls_handshake_failures_total{reason=\"" +
                       std::string(tls::failure_name(static_cast<tls::Failure>(f))) + "\"} " +
                       std::to_string(tls_failed[f]) + "\n";
        }
        metric(out, "brisk_blocking_queue_rejections_total", "counter",
               "Requests answered 503 because the blocking pool's queue was full.", rej_blocking);
        metric(out, "brisk_request_bytes_total", "counter",
               "Bytes of the requests answered (head and body as received; what arrived of a refused one).", bytes_in);
        metric(out, "brisk_response_bytes_total", "counter",
               "Bytes of the answers written (head and body), refusals at accept included.", bytes_out);
        metric(out, "brisk_access_log_dropped_lines_total", "counter",
               "Access log lines dropped because the log did not keep up.",
               shared_ && shared_->access_log ? shared_->access_log->dropped() : 0);
        metric(out, "brisk_config_reloads_total", "counter", "Configuration reloads.",
               shared_ ? shared_->reloads.load(std::memory_order_relaxed) : 0);
        metric(out, "brisk_draining", "gauge", "1 once brisk is stopping (finishing the requests in progress).",
               shared_ && shared_->draining.load(std::memory_order_relaxed) ? 1 : 0);
    }

    const Shared* shared_;
    std::vector<std::string> series_;       // distinct route names; [0] = "-"
    std::vector<std::size_t> slot_series_;  // route slot -> series
};

}  // namespace

std::unique_ptr<Handler> make_metrics_handler(const std::vector<std::string>& route_names, const Shared* shared) {
    return std::make_unique<MetricsHandler>(route_names, shared);
}

std::unique_ptr<Handler> make_health_handler(const Shared* shared) { return std::make_unique<HealthHandler>(shared); }

}  // namespace brisk
