// brisk — fuzzes the request-head parser (core/http/parser.*) the way a
// connection uses it: the head arrives in pieces, find_head_end() resumes
// where it stopped, check_partial_head() judges what has no end yet, and
// parse_head() reads the complete head.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http/parser.hpp"

using namespace brisk;

namespace {

bool inside(std::string_view v, const char* buf, std::size_t len) {
    if (v.empty()) return true;
    return v.data() >= buf && v.data() + v.size() <= buf + len;
}

void check_request(const http::Request& req, const char* buf, std::size_t len) {
    FUZZ_CHECK(req.header_count <= http::kMaxHeaders);
    FUZZ_CHECK(inside(req.method_text, buf, len));
    FUZZ_CHECK(inside(req.target, buf, len));
    // An absolute-form target without a path ("http://h") has the path "/".
    FUZZ_CHECK(inside(req.path, buf, len) || req.path == "/");
    FUZZ_CHECK(!req.path.empty());
    FUZZ_CHECK(inside(req.query, buf, len));
    FUZZ_CHECK(inside(req.host, buf, len));
    FUZZ_CHECK(!req.method_text.empty());
    FUZZ_CHECK(!req.target.empty());
    for (std::size_t i = 0; i < req.header_count; ++i) {
        FUZZ_CHECK(inside(req.headers[i].name, buf, len));
        FUZZ_CHECK(inside(req.headers[i].value, buf, len));
        FUZZ_CHECK(!req.headers[i].name.empty());
        // Values are stored without surrounding whitespace and never hold CR or LF.
        std::string_view v = req.headers[i].value;
        FUZZ_CHECK(v.find('\r') == std::string_view::npos && v.find('\n') == std::string_view::npos);
        if (!v.empty()) FUZZ_CHECK(v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t');
    }
    if (req.body_kind == http::BodyKind::chunked) FUZZ_CHECK(req.version_minor >= 1);
}

bool is_error_status(std::uint16_t s) {
    return s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // Second byte: the header-size limit, from tiny to the default 16 KiB.
    const std::size_t max_head = data[1] < 128 ? 16 + data[1] * 8u : 16384;
    std::vector<std::string_view> pieces = fuzz::split_input(data, size, 5);
    std::string whole;
    for (std::string_view p : pieces) whole.append(p);
    whole.erase(0, 1);  // the limit byte
    if (!pieces.empty() && !pieces[0].empty()) pieces[0].remove_prefix(1);

    // The buffer grows piece by piece, exactly sized so ASan sees any read past it.
    std::size_t len = 0, searched = 0, end = 0;
    for (std::string_view p : pieces) {
        if (p.empty()) continue;  // a connection calls the parser only once bytes arrived
        len += p.size();
        std::vector<char> buf(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(len));
        end = http::find_head_end(buf.data(), len, searched);
        FUZZ_CHECK(end <= len);
        if (end) {
            FUZZ_CHECK(end >= 4 && std::memcmp(buf.data() + end - 4, "\r\n\r\n", 4) == 0);
            break;
        }
        http::HeadResult partial = http::check_partial_head(buf.data(), len, max_head);
        FUZZ_CHECK(partial.kind != http::HeadResult::complete);
        if (partial.kind == http::HeadResult::error) {
            FUZZ_CHECK(is_error_status(partial.status));
            return 0;
        }
        searched = len;
    }
    // Searching the whole input at once finds the same end.
    std::size_t at_once = http::find_head_end(whole.data(), whole.size(), 0);
    if (end) FUZZ_CHECK(at_once == end);
    if (!end) {
        FUZZ_CHECK(at_once == 0);
        return 0;
    }

    std::vector<char> head(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(end));
    http::Request req;
    http::HeadResult r = http::parse_head(head.data(), end, max_head, req);
    if (r.kind == http::HeadResult::complete) {
        FUZZ_CHECK(r.length == end);
        check_request(req, head.data(), end);
    } else {
        FUZZ_CHECK(r.kind == http::HeadResult::error);
        FUZZ_CHECK(is_error_status(r.status));
    }
    return 0;
}
