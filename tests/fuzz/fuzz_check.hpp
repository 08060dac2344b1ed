// brisk — shared by the fuzz harnesses: an invariant check that aborts
// (libFuzzer and the replay tests both report an abort as a failure) and
// a helper splitting an input into a few pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

namespace brisk::fuzz {

/**
 * Cuts `data` into at most `max_pieces` consecutive pieces. The first byte
 * is a seed (not part of the payload): its bits choose how many cuts there
 * are and where, so every split of a short input is reachable.
 */
inline std::vector<std::string_view> split_input(const std::uint8_t* data, std::size_t size, unsigned max_pieces) {
    std::vector<std::string_view> pieces;
    if (size == 0) return pieces;
    unsigned seed = data[0];
    std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
    unsigned cuts = seed % max_pieces;  // 0 .. max_pieces-1 cuts
    std::size_t start = 0;
    unsigned state = seed * 2654435761u + 1;
    for (unsigned i = 0; i < cuts && start < payload.size(); ++i) {
        state = state * 1103515245u + 12345u;
        std::size_t left = payload.size() - start;
        std::size_t len = 1 + (state >> 8) % left;
        pieces.push_back(payload.substr(start, len));
        start += len;
    }
    if (start < payload.size() || pieces.empty()) pieces.push_back(payload.substr(start));
    return pieces;
}

}  // namespace brisk::fuzz
