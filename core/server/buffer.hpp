// brisk — a growable byte buffer that keeps its storage across requests.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "sanitizer.hpp"

#if BRISK_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace brisk {

#if BRISK_ASAN
inline constexpr bool kPoisonsRequests = true;
#else
inline constexpr bool kPoisonsRequests = false;
#endif

/**
 * Marks bytes no code may read any more (a request that has been answered):
 * sanitizer builds poison them, so a view kept past its lifetime faults;
 * debug builds overwrite them with 0xdb, so it reads garbage at once;
 * release builds leave them.
 */
inline void poison(char* data, std::size_t len) noexcept {
#if BRISK_ASAN
    if (data) ASAN_POISON_MEMORY_REGION(data, len);
#elif !defined(NDEBUG)
    if (data) std::memset(data, 0xdb, len);
#else
    (void)data;
    (void)len;
#endif
}

/** Sanitizer builds: makes bytes addressable again before they are reused. */
inline void unpoison(const char* data, std::size_t len) noexcept {
#if BRISK_ASAN
    if (data) ASAN_UNPOISON_MEMORY_REGION(data, len);
#else
    (void)data;
    (void)len;
#endif
}

/** A growable byte buffer that keeps its storage across requests. */
class Buffer {
public:
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() {
        unpoison();
        std::free(data_);
    }

    /** Sanitizer builds: makes the whole storage addressable again after a handler's views were poisoned. */
    void unpoison() noexcept {
#if BRISK_ASAN
        if (data_) ASAN_UNPOISON_MEMORY_REGION(data_, cap_);
#endif
    }

    char* data() noexcept { return data_; }
    std::size_t capacity() const noexcept { return cap_; }

    /** Grows to at least `n` bytes, keeping the contents. */
    void reserve(std::size_t n) {
        if (n <= cap_) return;
        std::size_t cap = cap_ ? cap_ : 1024;
        while (cap < n) cap *= 2;
        unpoison();
        void* p = std::realloc(data_, cap);
        if (!p) throw std::bad_alloc();
        data_ = static_cast<char*>(p);
        cap_ = cap;
    }

    /** Returns to `n` bytes of storage if it grew past it (memory back after a big request). */
    void shrink_to(std::size_t n) {
        if (cap_ <= n) return;
        unpoison();
        std::free(data_);
        data_ = static_cast<char*>(std::malloc(n));
        if (!data_) throw std::bad_alloc();
        cap_ = n;
    }

private:
    char* data_ = nullptr;
    std::size_t cap_ = 0;
};

}  // namespace brisk
