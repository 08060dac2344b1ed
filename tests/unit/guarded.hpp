// Test helper: places bytes at the very end of a readable page, followed by
// an inaccessible one, so that reading a single byte past them faults.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace brisk::test {

class Guarded {
public:
    explicit Guarded(std::string_view bytes) {
        page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        pages_ = (bytes.size() + page_ - 1) / page_ + 1;
        map_ = static_cast<char*>(
            mmap(nullptr, pages_ * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (map_ == MAP_FAILED) throw std::runtime_error("mmap");
        char* guard = map_ + (pages_ - 1) * page_;
        if (mprotect(guard, page_, PROT_NONE) != 0) throw std::runtime_error("mprotect");
        data_ = guard - bytes.size();
        std::memcpy(data_, bytes.data(), bytes.size());
        size_ = bytes.size();
    }
    ~Guarded() { munmap(map_, pages_ * page_); }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;

    char* data() noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    char* map_;
    char* data_;
    std::size_t size_, page_, pages_;
};

}  // namespace brisk::test
