// brisk — the per-loop open-file cache of a static route: what a hot file
// needs to be answered without a system call (descriptor, stat, ETag,
// MIME type, pre-rendered header lines, and the bytes of small files and of
// compressed variants), revalidated with stat once its duration is over.
//
// Single-threaded: a cache belongs to one loop. Entries are reference
// counted, because a response being sent borrows the entry's descriptor or
// bytes; an entry dropped from the cache lives on until the last one is sent.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "static/accept.hpp"
#include "static/mime.hpp"

namespace brisk::files {

/** What a stat says about a file, for revalidation: any change means reload. */
struct FileSig {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    bool present = false;
    bool operator==(const FileSig&) const = default;
};

/** One way to send a file: the file itself, a precompressed sibling, or a compressed copy. */
struct Representation {
    enum class State : std::uint8_t { absent, ready, failed };
    State state = State::absent;
    int fd = -1;             // large files: borrowed by file pieces (sendfile)
    std::string data;        // small files and compressed copies: the bytes
    bool in_memory = false;  // `data` holds the bytes, else `map` or `fd`
    /**
     * Mid-size files: the file mapped read-only, sent by reference (the
     * kernel copies it; brisk never reads it, so a file truncated meanwhile
     * fails the send with EFAULT rather than faulting the process).
     */
    const char* map = nullptr;
    std::size_t map_len = 0;
    std::uint64_t size = 0;
    std::string etag;      // "\"...\"" or empty when ETags are off
    std::string head;      // 200/206 header lines after Content-Type
    std::string head_304;  // 304 header lines
};

struct Entry {
    // ---- cache bookkeeping (FileCache) ----
    std::string key;  // normalized request path ("/a/b", "/a/" for a directory's index)
    std::uint64_t hash = 0;
    Entry* hnext = nullptr;
    Entry* newer = nullptr;
    Entry* older = nullptr;
    std::uint32_t refs = 1;  // the creator's; the cache takes it over on insert
    bool cached = false;
    std::int64_t checked_ms = 0;  // last load or revalidation
    std::size_t charge = 0;       // bytes held in memory

    // ---- the file ----
    std::string rel;                  // path opened, relative to the root ("a/index.html")
    std::string dir_rel;              // for an index entry: the directory, revalidated too ("." for the root)
    FileSig sig;                      // the file
    FileSig dir_sig;                  // the directory of an index entry
    FileSig sibling_sig[kEncodings];  // precompressed siblings, by Encoding
    MimeType mime;
    std::string content_type;          // "Content-Type: ...\r\n"
    std::int64_t mtime = 0;            // seconds, as in Last-Modified
    Representation rep[kEncodings];    // by Encoding; identity is the file itself
    unsigned available = 0;            // codings that can be sent (bit per Encoding, identity excluded)
    unsigned precompressed = 0;        // those that are siblings on disk
    bool compress_on_the_fly = false;  // compressible and within the size limit

    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry();

    void ref() noexcept { ++refs; }
    void unref() noexcept {
        if (--refs == 0) delete this;
    }
    /** A release callback for reply pieces that borrow this entry. */
    static void release(void* e) noexcept { static_cast<Entry*>(e)->unref(); }
};

class FileCache {
public:
    FileCache(std::size_t max_entries, std::size_t max_bytes);
    ~FileCache();
    FileCache(const FileCache&) = delete;
    FileCache& operator=(const FileCache&) = delete;

    /** The entry for `key`, made the most recently used; nullptr if none. */
    Entry* find(std::string_view key) noexcept;
    /** Adds `e` (its key set, not cached yet) and takes over its reference; evicts as needed. */
    void insert(Entry* e);
    /** Drops `e` from the cache (it lives on while borrowed). */
    void erase(Entry* e) noexcept;
    /** Counts `bytes` more memory for cached `e`; evicts other entries if over the budget. */
    void charge(Entry* e, std::size_t bytes) noexcept;

    std::size_t size() const noexcept { return count_; }
    std::size_t bytes() const noexcept { return bytes_; }

    static std::uint64_t hash(std::string_view key) noexcept;

private:
    void evict(const Entry* keep) noexcept;
    void unlink_lru(Entry* e) noexcept;
    void push_front(Entry* e) noexcept;

    std::vector<Entry*> buckets_;
    Entry* newest_ = nullptr;
    Entry* oldest_ = nullptr;
    std::size_t count_ = 0, bytes_ = 0;
    std::size_t max_entries_, max_bytes_;
};

}  // namespace brisk::files
