// brisk — fuzzes the Accept-Encoding parser (core/static/accept.*): q-values
// stay within 0..1000 and the chosen coding is one that is available and
// acceptable, or identity.
#include <string_view>

#include "fuzz_check.hpp"
#include "static/accept.hpp"

using namespace brisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // First byte: which codings are available (low nibble) and preferred (high).
    const unsigned available = data[0] & 0x0f;
    const unsigned preferred = (data[0] >> 4) & available;
    std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);

    std::uint16_t q = 0;
    if (files::parse_qvalue(value, q)) {
        FUZZ_CHECK(q <= 1000);
        FUZZ_CHECK(!value.empty() && (value[0] == '0' || value[0] == '1'));
    }

    files::AcceptEncoding accept = files::parse_accept_encoding(value);
    for (unsigned i = 0; i < files::kEncodings; ++i) FUZZ_CHECK(accept.q[i] <= 1000);

    files::Encoding chosen = files::choose_encoding(accept, available, preferred);
    if (chosen != files::Encoding::identity) {
        FUZZ_CHECK((available & files::bit(chosen)) != 0);
        FUZZ_CHECK(accept.of(chosen) > 0);
        // Nothing available is strictly better.
        for (unsigned i = 0; i < files::kEncodings; ++i) {
            auto e = static_cast<files::Encoding>(i);
            if (e == files::Encoding::identity || (available & files::bit(e)))
                FUZZ_CHECK(accept.of(e) <= accept.of(chosen));
        }
    }
    if (chosen == files::Encoding::identity) {
        for (unsigned i = 0; i < files::kEncodings; ++i)
            if (available & (1u << i)) FUZZ_CHECK(accept.q[i] <= accept.of(files::Encoding::identity));
    }
    std::string_view name = files::encoding_name(chosen);
    files::Encoding back;
    if (chosen != files::Encoding::identity) FUZZ_CHECK(files::encoding_from_name(name, back) && back == chosen);
    return 0;
}
