// brisk — the hello plugin: the TechEmpower plaintext and JSON answers.
//
//   GET /…/plaintext  ->  200 text/plain        Hello, World!
//   GET /…/json       ->  200 application/json  {"message":"Hello, World!"}
//   anything else     ->  declined (the next route answers)
//
// Config (optional):  greeting = "..."  replaces "Hello, World!" in both.
// The JSON body is serialised per request, as the benchmark's rules ask.
#include <brisk/plugin.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kDefaultGreeting = "Hello, World!";

/** Bytes `s` takes as the inside of a JSON string. */
std::size_t json_escaped_size(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            n += 2;
        else if (u < 0x20)
            n += 6;  // \u00XX
        else
            n += 1;
    }
    return n;
}

/** Writes `s` escaped for the inside of a JSON string; returns the end. */
char* json_escape(std::string_view s, char* out) {
    constexpr char hex[] = "0123456789abcdef";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        char short_escape = 0;
        switch (c) {
        case '"':
            short_escape = '"';
            break;
        case '\\':
            short_escape = '\\';
            break;
        case '\n':
            short_escape = 'n';
            break;
        case '\r':
            short_escape = 'r';
            break;
        case '\t':
            short_escape = 't';
            break;
        case '\b':
            short_escape = 'b';
            break;
        case '\f':
            short_escape = 'f';
            break;
        default:
            break;
        }
        if (short_escape != 0) {
            *out++ = '\\';
            *out++ = short_escape;
        } else if (u < 0x20) {
            for (char e : {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 0xf]}) *out++ = e;
        } else {
            *out++ = c;
        }
    }
    return out;
}

class Hello {
public:
    explicit Hello(brisk::PluginConfig& cfg) {
        if (auto greeting = cfg.expect_string("greeting"))
            greeting_ = std::move(*greeting);
        else
            greeting_ = kDefaultGreeting;
    }

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        const std::string_view method = req.method();
        if (method != "GET" && method != "HEAD") return brisk::Result::decline;
        const std::string_view path = req.path();
        if (path.ends_with("/plaintext")) {
            res.content_type("text/plain").write(greeting_);
            return brisk::Result::done;
        }
        if (path.ends_with("/json")) {
            constexpr std::string_view prefix = R"({"message":")";
            constexpr std::string_view suffix = R"("})";
            const std::size_t size = prefix.size() + json_escaped_size(greeting_) + suffix.size();
            char* body = req.arena<char>(size);
            char* end = json_escape(greeting_, body + prefix.copy(body, prefix.size()));
            suffix.copy(end, suffix.size());
            res.content_type("application/json").write(std::string_view(body, size));
            return brisk::Result::done;
        }
        return brisk::Result::decline;
    }

private:
    std::string greeting_;
};

}  // namespace

BRISK_PLUGIN(Hello, "hello", "1.0.0")
