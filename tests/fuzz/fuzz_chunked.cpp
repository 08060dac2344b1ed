// brisk — fuzzes the in-place chunked decoder (core/http/chunked.*): the body
// arrives in pieces, as from a socket, and the result must not depend on how
// it was cut; the decoded body is never longer than what arrived.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http/chunked.hpp"

using namespace brisk;

namespace {

struct Outcome {
    http::ChunkedDecoder::Result::Kind kind;
    std::uint16_t status;
    std::string body;
    std::string rest;  // bytes after the message, on done
};

Outcome run(const std::vector<std::string_view>& pieces, std::uint64_t max_body) {
    std::size_t total = 0;
    for (std::string_view p : pieces) total += p.size();
    std::vector<char> region(total == 0 ? 1 : total);  // exactly what can arrive
    http::ChunkedDecoder d;
    d.reset(max_body);
    std::size_t len = 0, arrived = 0;
    http::ChunkedDecoder::Result r{http::ChunkedDecoder::Result::need_more};
    std::size_t i = 0;
    while (i < pieces.size()) {
        std::string_view p = pieces[i++];
        // New bytes land after what the decoder left in the buffer.
        std::memcpy(region.data() + len, p.data(), p.size());
        len += p.size();
        arrived += p.size();
        std::size_t before = len;
        r = d.decode(region.data(), len);
        FUZZ_CHECK(len <= before);
        FUZZ_CHECK(d.decoded() <= len);
        FUZZ_CHECK(d.decoded() <= arrived);
        FUZZ_CHECK(d.decoded() <= max_body);
        if (r.kind == http::ChunkedDecoder::Result::error) {
            FUZZ_CHECK(r.status == 400 || r.status == 413);
            return {r.kind, r.status, {}, {}};
        }
        if (r.kind == http::ChunkedDecoder::Result::done) break;
        // need_more keeps at most the decoded data plus one partial line or trailer section.
        FUZZ_CHECK(len - d.decoded() <= http::ChunkedDecoder::kMaxLine + http::ChunkedDecoder::kMaxTrailers + 2);
    }
    Outcome o{r.kind, r.status, {}, {}};
    if (r.kind == http::ChunkedDecoder::Result::done) {
        auto body = static_cast<std::size_t>(d.decoded());
        o.body.assign(region.data(), body);
        o.rest.assign(region.data() + body, len - body);
        while (i < pieces.size()) o.rest.append(pieces[i++]);  // arrived after the message
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // Second byte: the body limit, small enough to reach 413 or effectively none.
    const std::uint64_t max_body = data[1] < 200 ? data[1] : UINT64_MAX >> (data[1] - 200);
    std::vector<std::string_view> pieces = fuzz::split_input(data, size, 6);
    if (!pieces.empty() && !pieces[0].empty()) pieces[0].remove_prefix(1);

    Outcome split = run(pieces, max_body);
    std::string whole;
    for (std::string_view p : pieces) whole.append(p);
    Outcome once = run({std::string_view(whole)}, max_body);

    FUZZ_CHECK(split.kind == once.kind);
    FUZZ_CHECK(split.status == once.status);
    FUZZ_CHECK(split.body == once.body);
    if (split.kind == http::ChunkedDecoder::Result::done) {
        // The bytes after the message are exactly the input's tail.
        FUZZ_CHECK(split.rest == once.rest);
        FUZZ_CHECK(whole.size() >= split.rest.size());
        FUZZ_CHECK(whole.compare(whole.size() - split.rest.size(), std::string::npos, split.rest) == 0);
        FUZZ_CHECK(split.body.size() + split.rest.size() <= whole.size());
    }
    return 0;
}
