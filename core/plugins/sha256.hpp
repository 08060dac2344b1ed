// brisk — SHA-256 (FIPS 180-4), for pinning plugin files and naming their private copies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace brisk {

class Sha256 {
public:
    Sha256() noexcept;
    void update(const void* data, std::size_t len) noexcept;
    std::array<std::uint8_t, 32> finish() noexcept;

    /** Lower-case hex digest of `data`. */
    static std::string hex(std::string_view data);

private:
    void block(const std::uint8_t* p) noexcept;
    std::uint32_t h_[8];
    std::uint8_t buf_[64];
    std::size_t used_ = 0;
    std::uint64_t total_ = 0;
};

}  // namespace brisk
