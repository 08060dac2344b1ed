// brisk — upper, an example plugin in C++20 with plugin.hpp: answers with
// the upper-cased text it is given.
//
//   GET  /upper?text=hello%20world  ->  200 text/plain  HELLO WORLD
//   POST /upper   (body "abc")      ->  200 text/plain  ABC
//   other methods                   ->  405, Allow: GET, POST
//   text longer than max_bytes      ->  413
//
// Config (optional): max_bytes = 65536 (1 to 16777216).
// The answer is built in the request arena: no allocation per request.
#include <brisk/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

class Upper {
public:
    explicit Upper(brisk::PluginConfig& cfg) {
        // Absent: the default; another type: "...: max_bytes: expected an integer, found a string".
        if (auto max = cfg.expect_integer("max_bytes")) {
            if (*max < 1 || *max > (std::int64_t{1} << 24)) cfg.fail("max_bytes", "must be 1 to 16777216");
            max_bytes_ = static_cast<std::size_t>(*max);
        }
    }

    // Optional hooks, found by plugin.hpp: here they only log.
    void loop_init(std::uint32_t loop) const {
        brisk::log(brisk::LogLevel::debug, loop == 0 ? "upper: first loop ready" : "upper: loop ready");
    }

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        std::string_view text;
        if (req.method() == "GET" || req.method() == "HEAD") {
            text = req.query_arg("text").value_or("");
        } else if (req.method() == "POST") {
            text = req.body();
        } else {
            res.status(405).header("Allow", "GET, POST").content_type("text/plain").write("GET or POST\n");
            return brisk::Result::done;
        }
        if (text.size() > max_bytes_) {
            res.status(413).content_type("text/plain").write("too long\n");
            return brisk::Result::done;
        }

        char* out = req.arena<char>(text.size() + 1);
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            out[i] = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
        }
        res.content_type("text/plain; charset=utf-8").write(std::string_view(out, text.size()));
        return brisk::Result::done;
    }

private:
    std::size_t max_bytes_ = 65536;
};

}  // namespace

BRISK_PLUGIN(Upper, "upper", "1.0.0")
