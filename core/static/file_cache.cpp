#include "static/file_cache.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace brisk::files {

Entry::~Entry() {
    for (Representation& r : rep) {
        if (r.fd >= 0) ::close(r.fd);
        if (r.map) ::munmap(const_cast<char*>(r.map), r.map_len);
    }
}

FileCache::FileCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries ? max_entries : 1), max_bytes_(max_bytes) {
    std::size_t n = 16;
    while (n < max_entries_ * 2) n *= 2;
    buckets_.assign(n, nullptr);
}

FileCache::~FileCache() {
    while (oldest_) erase(oldest_);
}

std::uint64_t FileCache::hash(std::string_view key) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

Entry* FileCache::find(std::string_view key) noexcept {
    std::uint64_t h = hash(key);
    for (Entry* e = buckets_[h & (buckets_.size() - 1)]; e; e = e->hnext) {
        if (e->hash == h && e->key == key) {
            if (newest_ != e) {
                unlink_lru(e);
                push_front(e);
            }
            return e;
        }
    }
    return nullptr;
}

void FileCache::insert(Entry* e) {
    if (Entry* old = find(e->key)) erase(old);
    e->hash = hash(e->key);
    Entry*& head = buckets_[e->hash & (buckets_.size() - 1)];
    e->hnext = head;
    head = e;
    push_front(e);
    e->cached = true;
    ++count_;
    bytes_ += e->charge;
    evict(e);
}

void FileCache::erase(Entry* e) noexcept {
    if (!e->cached) return;
    Entry** p = &buckets_[e->hash & (buckets_.size() - 1)];
    while (*p != e) p = &(*p)->hnext;
    *p = e->hnext;
    e->hnext = nullptr;
    unlink_lru(e);
    e->cached = false;
    --count_;
    bytes_ -= e->charge;
    e->unref();
}

void FileCache::charge(Entry* e, std::size_t bytes) noexcept {
    e->charge += bytes;
    if (!e->cached) return;
    bytes_ += bytes;
    evict(e);
}

void FileCache::evict(const Entry* keep) noexcept {
    while ((count_ > max_entries_ || bytes_ > max_bytes_) && oldest_) {
        Entry* victim = oldest_ != keep ? oldest_ : oldest_->newer;
        if (!victim) break;  // only `keep` is left
        erase(victim);
    }
}

void FileCache::unlink_lru(Entry* e) noexcept {
    if (e->newer)
        e->newer->older = e->older;
    else
        newest_ = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        oldest_ = e->newer;
    e->newer = e->older = nullptr;
}

void FileCache::push_front(Entry* e) noexcept {
    e->older = newest_;
    e->newer = nullptr;
    if (newest_) newest_->newer = e;
    newest_ = e;
    if (!oldest_) oldest_ = e;
}

}  // namespace brisk::files
