// brisk — fuzzes the Range parser (core/static/range.*): every range it
// accepts lies inside the representation, and overlapping or adjacent ranges
// are coalesced, so the 206 is never larger than the file.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "fuzz_check.hpp"
#include "static/range.hpp"

using namespace brisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // First byte: the representation size — small, empty, or near the top of uint64.
    std::uint64_t rep;
    switch (data[0] >> 6) {
    case 0:
        rep = data[0] & 0x3f;
        break;
    case 1:
        rep = static_cast<std::uint64_t>(data[0] & 0x3f) * 1000;
        break;
    case 2:
        rep = UINT64_MAX - (data[0] & 0x3f);
        break;
    default:
        rep = (data[0] & 0x3f) == 0 ? 0 : 1ull << (data[0] & 0x3f);
        break;
    }
    std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
    files::RangeSet set = files::parse_range(value, rep);

    FUZZ_CHECK(set.count <= files::kMaxRanges);
    switch (set.kind) {
    case files::RangeSet::Kind::ignore:
        break;
    case files::RangeSet::Kind::unsatisfiable:
        FUZZ_CHECK(set.count == 0);
        break;
    case files::RangeSet::Kind::satisfiable: {
        FUZZ_CHECK(set.count >= 1);
        FUZZ_CHECK(rep > 0);
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < set.count; ++i) {
            const files::ByteRange& r = set.ranges[i];
            FUZZ_CHECK(r.first <= r.last);
            FUZZ_CHECK(r.last < rep);
            total += r.length();
        }
        // Ranges keep the order asked for unless some overlapped or touched;
        // either way, no two of them overlap or touch any more.
        for (std::size_t a = 0; a < set.count; ++a)
            for (std::size_t b = a + 1; b < set.count; ++b) {
                const files::ByteRange &x = set.ranges[a], &y = set.ranges[b];
                FUZZ_CHECK(x.last + 1 < y.first || y.last + 1 < x.first);
            }
        FUZZ_CHECK(total <= rep);
        break;
    }
    }
    return 0;
}
