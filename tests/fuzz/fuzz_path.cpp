// brisk — fuzzes the static path normaliser (core/static/path.*): whatever
// the request path, the result is one clean absolute path inside the root,
// and normalising its URL encoding again changes nothing.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "static/path.hpp"

using namespace brisk;

namespace {

void check_clean(const files::NormalizedPath& r, const char* out, std::size_t cap) {
    FUZZ_CHECK(r.len >= 1 && r.len <= cap);
    std::string_view p(out, r.len);
    FUZZ_CHECK(p[0] == '/');
    FUZZ_CHECK(p.find("//") == std::string_view::npos);
    FUZZ_CHECK(p.find('\0') == std::string_view::npos);
    FUZZ_CHECK(p.find('\\') == std::string_view::npos);
    FUZZ_CHECK(r.dir == (p.back() == '/'));
    bool hidden = false;
    std::size_t i = 1;
    while (i < p.size()) {
        std::size_t end = p.find('/', i);
        if (end == std::string_view::npos) end = p.size();
        std::string_view seg = p.substr(i, end - i);
        FUZZ_CHECK(!seg.empty());
        FUZZ_CHECK(seg != "." && seg != "..");
        FUZZ_CHECK(seg.size() <= 255);
        if (seg[0] == '.') hidden = true;
        i = end + 1;
    }
    FUZZ_CHECK(r.hidden == hidden);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // First byte: the output capacity, from none to a comfortable PATH_MAX.
    const std::size_t cap = data[0] < 128 ? data[0] : 4096;
    std::string raw(reinterpret_cast<const char*>(data + 1), size - 1);
    std::vector<char> out(cap == 0 ? 1 : cap);

    files::NormalizedPath r = files::normalize_path(raw, out.data(), cap);
    if (r.status != files::NormalizedPath::Status::ok) return 0;
    check_clean(r, out.data(), cap);

    // Idempotent: the URL encoding of the result normalises to itself.
    std::string encoded;
    files::encode_path(std::string_view(out.data(), r.len), encoded);
    for (char c : encoded) {
        auto u = static_cast<unsigned char>(c);
        FUZZ_CHECK(u > 0x20 && u < 0x7f && c != '?' && c != '#' && c != '"' && c != '<' && c != '>');
    }
    std::vector<char> again(cap == 0 ? 1 : cap);
    files::NormalizedPath r2 = files::normalize_path(encoded, again.data(), cap);
    FUZZ_CHECK(r2.status == files::NormalizedPath::Status::ok);
    FUZZ_CHECK(r2.len == r.len);
    FUZZ_CHECK(std::string_view(again.data(), r2.len) == std::string_view(out.data(), r.len));
    FUZZ_CHECK(r2.dir == r.dir && r2.hidden == r.hidden);
    return 0;
}
