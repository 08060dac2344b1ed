#include "server/reply.hpp"

#include <unistd.h>

#include <cstdlib>

namespace brisk {

void* Arena::alloc(std::size_t n) noexcept {
    n = (n + 15) & ~std::size_t{15};
    if (blocks_.empty() || used_ + n > blocks_.back().size) {
        std::size_t size = n > kBlock ? n : kBlock;
        void* p = std::aligned_alloc(16, size);
        if (!p) return nullptr;
        try {
            blocks_.push_back(Block{static_cast<char*>(p), size});
        } catch (...) {
            std::free(p);
            return nullptr;
        }
        used_ = 0;
    }
    // cppcheck-suppress containerOutOfBounds ; a block was pushed above when there was none
    void* out = blocks_.back().data + used_;
    used_ += n;
    return out;
}

Arena::~Arena() {
    for (Block& b : blocks_) std::free(b.data);
}

void Arena::reset() noexcept {
    if (blocks_.empty()) return;
    for (std::size_t i = 1; i < blocks_.size(); ++i) std::free(blocks_[i].data);
    if (blocks_[0].size != kBlock) {
        std::free(blocks_[0].data);
        blocks_.clear();
    } else {
        blocks_.resize(1);
    }
    used_ = 0;
}

void Reply::reset_slow() noexcept {
    for (Segment& p : pieces) p.drop();
    pieces.clear();
    kind = Kind::none;
    status = 200;
    reason.clear();
    headers_len = body_len = 0;
    arena.reset();
    slot = nullptr;
}

}  // namespace brisk
