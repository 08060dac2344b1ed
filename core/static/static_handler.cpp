// brisk — static files: path → cache entry → conditional, range and coding
// decisions → a reply of copied bytes (small files, one send with the head),
// borrowed cached bytes, or a borrowed descriptor sent with sendfile.
#include "static/static_handler.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

#include "brisk/server.hpp"
#include "static/accept.hpp"
#include "static/compress.hpp"
#include "static/conditional.hpp"
#include "static/file_cache.hpp"
#include "static/listing.hpp"
#include "static/mime.hpp"
#include "static/path.hpp"
#include "static/range.hpp"

namespace brisk {
namespace files {
namespace {

constexpr std::size_t kMaxPath = 4096;
constexpr std::uint64_t kMemoryMax = 64 * 1024;  // files up to this are kept in memory
constexpr std::uint64_t kCopyMax = 16 * 1024;    // in-memory bytes up to this are copied next to the head;
                                                 // larger ones are sent by reference (writev), not copied
// Files up to this (and over kMemoryMax) are mapped and sent from the mapping
// with writev; larger ones with sendfile. On a hot file sendfile makes every
// response hold references to the same page-cache pages, and the receiving
// side (on loopback, the client's CPU) pays for that more than for a copy.
constexpr std::uint64_t kMapMax = 8 * 1024 * 1024;
constexpr std::uint64_t kMinCompress = 256;     // smaller files are not worth a coding
constexpr std::size_t kCacheEntries = 4096;     // per loop and route, at most
constexpr std::size_t kCacheBytes = 64u << 20;  // per loop and route: file bytes and compressed copies
constexpr std::size_t kMaxListing = 20000;      // directory entries shown

constexpr std::string_view kTextPlain = "Content-Type: text/plain; charset=utf-8\r\n";
constexpr std::string_view kTextHtml = "Content-Type: text/html; charset=utf-8\r\n";

std::int64_t mono_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

FileSig sig_of(const struct stat& st) noexcept {
    FileSig s;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.present = true;
    return s;
}

// ---- reply building ------------------------------------------------------

void begin(Reply& r, std::uint16_t status) noexcept {
    r.kind = Reply::Kind::built;
    r.status = status;
}

void add_headers(Reply& r, std::string_view lines) {
    if (lines.empty()) return;  // an empty view may have no data
    r.headers.reserve(r.headers_len + lines.size());
    std::memcpy(r.headers.data() + r.headers_len, lines.data(), lines.size());
    r.headers_len += lines.size();
}

void add_copy(Reply& r, std::string_view data) {
    if (data.empty()) return;
    r.body.reserve(r.body_len + data.size());
    std::memcpy(r.body.data() + r.body_len, data.data(), data.size());
    if (!r.pieces.empty() && r.pieces.back().kind == Segment::Kind::bytes &&
        r.pieces.back().pos + r.pieces.back().len == r.body_len) {
        r.pieces.back().len += data.size();
    } else {
        r.pieces.push_back(Segment{Segment::Kind::bytes, -1, r.body_len, data.size(), nullptr, nullptr});
    }
    r.body_len += data.size();
}

void add_uint(Reply& r, std::uint64_t v) {
    char buf[24];
    int n = std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    add_copy(r, {buf, static_cast<std::size_t>(n)});
}

// Bytes of a cached entry, sent without a copy; the entry lives until they are.
void add_ref(Reply& r, Entry& e, const char* p, std::uint64_t n) {
    if (n == 0) return;
    r.pieces.push_back(Segment{Segment::Kind::ref, -1, reinterpret_cast<std::uintptr_t>(p), n, &Entry::release, &e});
    e.ref();
}

// A range of an entry's descriptor, sent with sendfile; the descriptor is only borrowed.
void add_file(Reply& r, Entry& e, int fd, std::uint64_t pos, std::uint64_t n) {
    if (n == 0) return;
    r.pieces.push_back(Segment{Segment::Kind::file, fd, pos, n, &Entry::release, &e});
    e.ref();
}

// HEAD: the body's length for Content-Length; the host sends no piece of a HEAD answer.
void add_length_only(Reply& r, std::uint64_t n) {
    static const char kNothing = 0;
    if (n == 0) return;
    r.pieces.push_back(
        Segment{Segment::Kind::ref, -1, reinterpret_cast<std::uintptr_t>(&kNothing), n, nullptr, nullptr});
}

// Bytes [pos, pos + n) of a representation.
void add_body(Reply& r, Entry& e, const Representation& rep, std::uint64_t pos, std::uint64_t n) {
    if (rep.in_memory) {
        if (n <= kCopyMax)
            add_copy(r, std::string_view(rep.data).substr(pos, n));
        else
            add_ref(r, e, rep.data.data() + pos, n);
    } else if (rep.map) {
        add_ref(r, e, rep.map + pos, n);  // never copied here: only the kernel reads a mapping
    } else {
        add_file(r, e, rep.fd, pos, n);
    }
}

Outcome plain(Reply& r, std::uint16_t status, std::string_view extra_headers = {}) {
    begin(r, status);
    add_headers(r, kTextPlain);
    add_headers(r, extra_headers);
    std::string_view reason;
    switch (status) {
    case 400:
        reason = "Bad Request\n";
        break;
    case 403:
        reason = "Forbidden\n";
        break;
    case 404:
        reason = "Not Found\n";
        break;
    case 405:
        reason = "Method Not Allowed\n";
        break;
    case 412:
        reason = "Precondition Failed\n";
        break;
    case 416:
        reason = "Range Not Satisfiable\n";
        break;
    default:
        reason = "Internal Server Error\n";
        break;
    }
    add_copy(r, reason);
    return Outcome::done;
}

std::uint16_t status_of_errno(int err) noexcept {
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EXDEV:
    case ENAMETOOLONG:
    case EINVAL:
    case ENXIO:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

bool read_all(int fd, std::uint64_t size, std::string& out) {
    out.resize(size);
    std::uint64_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;  // shrank meanwhile: revalidation will see it
        got += static_cast<std::uint64_t>(n);
    }
    out.resize(got);
    return true;
}

}  // namespace

class StaticHandler final : public Handler {
public:
    StaticHandler(const RouteConfig& route, const Config& config);
    ~StaticHandler() override;

    Outcome handle(HandlerCall& call) override;
    void loop_init(unsigned loop_index) override;
    void loop_fini(unsigned loop_index) noexcept override;

private:
    struct LoopState {
        explicit LoopState(std::size_t entries) : cache(entries, kCacheBytes) {}
        FileCache cache;
        char path[kMaxPath]{};
        char scratch_path[kMaxPath + 16]{};
        std::string text;  // redirects, listings, compression input
        std::vector<ListingItem> items;
    };

    struct Load {
        enum class Kind : std::uint8_t { entry, redirect, listing, error };
        Kind kind = Kind::error;
        std::uint16_t status = 500;
        Entry* entry = nullptr;
        int dirfd = -1;  // listing: the directory, closed by the caller
    };

    LoopState& state(unsigned loop_index);
    int open_beneath(const char* rel, int flags) const noexcept;
    FileSig stat_sig(const char* rel) const noexcept;
    bool still_valid(LoopState& ls, const Entry& e) const noexcept;
    Load load(std::string_view key, bool dir);
    Entry* build_entry(std::string_view key, std::string rel, int fd, const struct stat& st, std::string dir_rel,
                       FileSig dir_sig);
    void make_heads(const Entry& e, Representation& rep, Encoding enc, bool vary) const;
    bool ensure_variant(LoopState& ls, Entry& e, Encoding enc);
    bool compressed_from_folder(const Entry& e, Encoding enc, std::string& name, Representation& rep) const;
    void store_in_folder(const std::string& name, const std::string& data) const;

    Outcome serve(HandlerCall& call, LoopState& ls, Entry& e);
    Outcome redirect(HandlerCall& call, LoopState& ls, std::string_view key);
    Outcome listing(HandlerCall& call, LoopState& ls, std::string_view key, int dirfd);

    StaticConfig cfg_;
    std::string base_;       // the route's path without its trailing '/', as configured (for Location)
    std::string base_path_;  // the same, percent-decoded and normalised: what request paths are matched with
    MimeTable mime_;
    int root_fd_ = -1;
    std::string root_real_;
    std::vector<std::string> index_;
    std::vector<Encoding> precompressed_;
    std::string cache_control_;  // "Cache-Control: ...\r\n" or empty
    std::string boundary_;
    std::vector<std::unique_ptr<LoopState>> loops_;
};

StaticHandler::StaticHandler(const RouteConfig& route, const Config& config)
    : cfg_(route.static_files), base_(route.path), mime_(route.static_files.mime) {
    if (!base_.empty() && base_.back() == '/') base_.pop_back();
    {
        std::string buf(base_.size() + 2, '\0');
        NormalizedPath n = normalize_path(base_, buf.data(), buf.size());
        base_path_ = n.status == NormalizedPath::Status::ok ? buf.substr(0, n.len) : base_;
        if (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
    }
    std::string what =
        "static route " + (route.path.empty() ? std::string("/") : route.path) + ": root \"" + cfg_.root + "\"";
    if (cfg_.root.empty()) throw Error(what + ": no directory given");
    root_fd_ = ::open(cfg_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd_ < 0) throw Error(what + ": " + std::strerror(errno));
    int probe = ::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (probe < 0) {
        int err = errno;
        ::close(root_fd_);
        throw Error(what + ": " + std::strerror(err));
    }
    ::close(probe);
    if (!cfg_.compress_cache.empty()) {
        struct stat st {};
        int err = 0;
        if (::stat(cfg_.compress_cache.c_str(), &st) != 0 ||
            (S_ISDIR(st.st_mode) && ::access(cfg_.compress_cache.c_str(), W_OK | X_OK) != 0))
            err = errno;
        else if (!S_ISDIR(st.st_mode))
            err = ENOTDIR;
        if (err) {
            ::close(root_fd_);
            throw Error("static route " + (route.path.empty() ? std::string("/") : route.path) + ": compress_cache \"" +
                        cfg_.compress_cache + "\": " + std::strerror(err));
        }
    }
    if (char* real = ::realpath(cfg_.root.c_str(), nullptr)) {
        root_real_ = real;
        std::free(real);
    }
    for (const std::string& name : cfg_.index)
        if (!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..") index_.push_back(name);
    for (const std::string& name : cfg_.precompressed) {
        Encoding e;
        if (encoding_from_name(name, e) &&
            std::find(precompressed_.begin(), precompressed_.end(), e) == precompressed_.end())
            precompressed_.push_back(e);
    }
    if (!cfg_.cache_control.empty()) {
        cache_control_ = "Cache-Control: ";
        for (char c : cfg_.cache_control)
            if (c != '\r' && c != '\n') cache_control_ += c;
        cache_control_ += "\r\n";
    }
    std::random_device rd;
    char buf[40];
    std::snprintf(buf, sizeof buf, "brisk-%08x%08x", rd(), rd());
    boundary_ = buf;
    loops_.resize(config.loops ? config.loops : 1);
}

StaticHandler::~StaticHandler() {
    loops_.clear();
    if (root_fd_ >= 0) ::close(root_fd_);
}

void StaticHandler::loop_init(unsigned loop_index) { (void)state(loop_index); }

void StaticHandler::loop_fini(unsigned loop_index) noexcept {
    if (loop_index < loops_.size()) loops_[loop_index].reset();
}

StaticHandler::LoopState& StaticHandler::state(unsigned loop_index) {
    // Each loop touches only its own slot, so no lock is needed.
    if (loop_index >= loops_.size()) throw std::logic_error("static files: loop index out of range");
    std::unique_ptr<LoopState>& s = loops_[loop_index];
    if (!s) {
        // Cached large files hold a descriptor each: leave most of the
        // process's descriptors to connections.
        std::size_t entries = kCacheEntries;
        rlimit lim{};
        if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
            std::size_t share = static_cast<std::size_t>(lim.rlim_cur) / (4 * loops_.size());
            entries = std::clamp<std::size_t>(share, 16, kCacheEntries);
        }
        s = std::make_unique<LoopState>(entries);
    }
    return *s;
}

// Opens `rel` under the root. Without follow_symlinks, nothing outside the
// root can be reached: openat2's RESOLVE_BENEATH refuses ".." and symlinks
// that leave it (EXDEV); without openat2 (Linux < 5.6), where the descriptor
// landed is checked instead.
int StaticHandler::open_beneath(const char* rel, int flags) const noexcept {
    static std::atomic<bool> no_openat2{false};
    flags |= O_CLOEXEC;
    if (cfg_.follow_symlinks) return ::openat(root_fd_, rel, flags);
    if (!no_openat2.load(std::memory_order_relaxed)) {
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags);
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd = ::syscall(SYS_openat2, root_fd_, rel, &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        // EXDEV: the path crossed the root's edge, which an absolute symlink
        // to a file inside the root does too: decided by where it lands.
        if (errno != ENOSYS && errno != EXDEV) return -1;
        if (errno == ENOSYS) no_openat2.store(true, std::memory_order_relaxed);
    }
    int fd = ::openat(root_fd_, rel, flags);
    if (fd < 0) return -1;
    char link[64], where[kMaxPath + 1];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, where, kMaxPath);
    std::string_view got = n > 0 ? std::string_view(where, static_cast<std::size_t>(n)) : std::string_view{};
    bool inside = !root_real_.empty() && got.substr(0, root_real_.size()) == root_real_ &&
                  (got.size() == root_real_.size() || got[root_real_.size()] == '/' || root_real_ == "/");
    if (!inside) {
        ::close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

FileSig StaticHandler::stat_sig(const char* rel) const noexcept {
    struct stat st {};
    if (::fstatat(root_fd_, rel, &st, 0) != 0) return FileSig{};
    return sig_of(st);
}

bool StaticHandler::still_valid(LoopState& ls, const Entry& e) const noexcept {
    if (stat_sig(e.rel.c_str()) != e.sig) return false;
    if (!e.dir_rel.empty() && stat_sig(e.dir_rel.c_str()) != e.dir_sig) return false;
    for (Encoding enc : precompressed_) {
        std::string_view suffix = encoding_suffix(enc);
        if (e.rel.size() + suffix.size() >= sizeof ls.scratch_path) return false;
        std::memcpy(ls.scratch_path, e.rel.data(), e.rel.size());
        std::memcpy(ls.scratch_path + e.rel.size(), suffix.data(), suffix.size());
        ls.scratch_path[e.rel.size() + suffix.size()] = '\0';
        if (stat_sig(ls.scratch_path) != e.sibling_sig[static_cast<unsigned>(enc)]) return false;
    }
    return true;
}

// Finds what `key` names: a file (an entry), a directory named without its
// '/' (a redirect), a directory's index file (an entry), its listing, or an error.
StaticHandler::Load StaticHandler::load(std::string_view key, bool dir) {
    Load out;
    std::string rel(key.substr(1));
    if (!dir) {
        int fd = open_beneath(rel.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
            out.status = status_of_errno(errno);
            return out;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            out.status = 500;
            ::close(fd);
            return out;
        }
        if (S_ISDIR(st.st_mode)) {
            ::close(fd);
            out.kind = Load::Kind::redirect;
            return out;
        }
        if (!S_ISREG(st.st_mode)) {  // devices, FIFOs, sockets
            ::close(fd);
            out.status = 404;
            return out;
        }
        out.entry = build_entry(key, std::move(rel), fd, st, {}, {});
        if (out.entry) out.kind = Load::Kind::entry;
        return out;
    }

    std::string dir_rel = rel.empty() ? std::string(".") : rel.substr(0, rel.size() - 1);
    int dfd = open_beneath(dir_rel.c_str(), O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    if (dfd < 0) {
        out.status = status_of_errno(errno);
        return out;
    }
    struct stat dst {};
    if (::fstat(dfd, &dst) != 0) {
        ::close(dfd);
        return out;
    }
    for (const std::string& name : index_) {
        std::string file = rel + name;
        int fd = open_beneath(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            continue;
        }
        ::close(dfd);
        out.entry = build_entry(key, std::move(file), fd, st, std::move(dir_rel), sig_of(dst));
        if (out.entry) out.kind = Load::Kind::entry;
        return out;
    }
    if (cfg_.listing) {
        out.kind = Load::Kind::listing;
        out.dirfd = dfd;
        return out;
    }
    ::close(dfd);
    out.status = 403;
    return out;
}

// An entry for the regular file open at `fd` (consumed).
Entry* StaticHandler::build_entry(std::string_view key, std::string rel, int fd, const struct stat& st,
                                  std::string dir_rel, FileSig dir_sig) {
    auto e = std::make_unique<Entry>();
    e->key = key;
    e->sig = sig_of(st);
    e->dir_rel = std::move(dir_rel);
    e->dir_sig = dir_sig;
    e->mime = mime_.lookup(rel);
    e->content_type = "Content-Type: " + std::string(e->mime.type) + "\r\n";
    e->mtime = st.st_mtim.tv_sec;
    e->checked_ms = mono_ms();

    auto fill = [&](Representation& rep, int rfd, const struct stat& rst) -> bool {
        rep.size = static_cast<std::uint64_t>(rst.st_size);
        if (rep.size <= kMemoryMax) {
            bool ok = read_all(rfd, rep.size, rep.data);
            ::close(rfd);
            if (!ok) return false;
            rep.size = rep.data.size();
            rep.in_memory = true;
            e->charge += rep.data.capacity();
        } else {
            rep.fd = rfd;  // kept: sendfile, or reading for compression
            if (rep.size <= kMapMax) {
                void* m = ::mmap(nullptr, rep.size, PROT_READ, MAP_SHARED, rfd, 0);
                if (m != MAP_FAILED) {
                    rep.map = static_cast<const char*>(m);
                    rep.map_len = rep.size;
                }
            }
        }
        rep.state = Representation::State::ready;
        return true;
    };
    auto etag_of = [&](const struct stat& rst, std::string_view suffix) {
        if (!cfg_.etag) return std::string();
        char buf[64];
        int n = std::snprintf(buf, sizeof buf, "\"%llx.%lx-%llx", static_cast<unsigned long long>(rst.st_mtim.tv_sec),
                              static_cast<unsigned long>(rst.st_mtim.tv_nsec),
                              static_cast<unsigned long long>(rst.st_size));
        std::string tag(buf, static_cast<std::size_t>(n));
        tag += suffix;
        tag += '"';
        return tag;
    };

    Representation& ident = e->rep[static_cast<unsigned>(Encoding::identity)];
    if (!fill(ident, fd, st)) return nullptr;
    ident.etag = etag_of(st, {});

    // Precompressed siblings ("a.js.br"): served as that coding of "a.js".
    for (Encoding enc : precompressed_) {
        std::string sib = rel + std::string(encoding_suffix(enc));
        int sfd = open_beneath(sib.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (sfd < 0) continue;
        struct stat sst {};
        if (::fstat(sfd, &sst) != 0 || !S_ISREG(sst.st_mode)) {
            ::close(sfd);
            continue;
        }
        // The signature is that of the path, as revalidation will stat it.
        e->sibling_sig[static_cast<unsigned>(enc)] = sig_of(sst);
        Representation& rep = e->rep[static_cast<unsigned>(enc)];
        if (!fill(rep, sfd, sst)) continue;
        rep.etag = etag_of(sst, "-" + std::string(encoding_suffix(enc).substr(1)));  // "-br", "-zst", "-gz"
        e->precompressed |= bit(enc);
    }
    e->compress_on_the_fly =
        cfg_.compress && e->mime.compressible && ident.size >= kMinCompress && ident.size <= cfg_.compress_max_size;
    e->available = e->precompressed;
    if (e->compress_on_the_fly) e->available |= bit(Encoding::br) | bit(Encoding::zstd) | bit(Encoding::gzip);
    const bool vary = e->available != 0;
    for (unsigned i = 0; i < kEncodings; ++i)
        if (e->rep[i].state == Representation::State::ready) make_heads(*e, e->rep[i], static_cast<Encoding>(i), vary);
    e->rel = std::move(rel);
    return e.release();
}

void StaticHandler::make_heads(const Entry& e, Representation& rep, Encoding enc, bool vary) const {
    char date[kHttpDateLen];
    format_http_date(e.mtime, date);
    std::string common = "Last-Modified: ";
    common.append(date, kHttpDateLen);
    common += "\r\n";
    if (!rep.etag.empty()) common += "ETag: " + rep.etag + "\r\n";
    std::string tail = cache_control_;
    if (vary) tail += "Vary: Accept-Encoding\r\n";
    rep.head.clear();
    if (enc != Encoding::identity) rep.head = "Content-Encoding: " + std::string(encoding_name(enc)) + "\r\n";
    rep.head += common;
    if (cfg_.ranges) rep.head += "Accept-Ranges: bytes\r\n";
    rep.head += tail;
    rep.head_304 = common + tail;
}

// The folder copy of `e` in coding `enc`, if one was stored: `name` is set either way.
bool StaticHandler::compressed_from_folder(const Entry& e, Encoding enc, std::string& name, Representation& rep) const {
    char key[kMaxPath + 128];
    int n =
        std::snprintf(key, sizeof key, "%s\n%s\n%llu:%llu:%lld:%lld\n%d:%d:%d:%d", root_real_.c_str(), e.rel.c_str(),
                      static_cast<unsigned long long>(e.sig.dev), static_cast<unsigned long long>(e.sig.ino),
                      static_cast<long long>(e.sig.size), static_cast<long long>(e.sig.mtime_ns), static_cast<int>(enc),
                      cfg_.gzip_level, cfg_.brotli_level, cfg_.zstd_level);
    std::size_t len = n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof key - 1);
    std::uint64_t h = FileCache::hash({key, len});
    char file[32];
    std::snprintf(file, sizeof file, "/%016llx%s", static_cast<unsigned long long>(h), encoding_suffix(enc).data());
    name = cfg_.compress_cache + file;
    int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        ::close(fd);
        return false;
    }
    rep.size = static_cast<std::uint64_t>(st.st_size);
    if (rep.size <= kMemoryMax) {
        bool ok = read_all(fd, rep.size, rep.data);
        ::close(fd);
        if (!ok || rep.data.size() != rep.size) return false;
        rep.in_memory = true;
    } else {
        rep.fd = fd;
    }
    return true;
}

void StaticHandler::store_in_folder(const std::string& name, const std::string& data) const {
    std::string tmp = name + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(mono_ms());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        spdlog::warn("compress cache {}: {}", cfg_.compress_cache, std::strerror(errno));
        return;
    }
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    bool ok = done == data.size();
    if (::close(fd) != 0) ok = false;
    if (!ok || ::rename(tmp.c_str(), name.c_str()) != 0) ::unlink(tmp.c_str());
}

// Makes the coding `enc` of `e` ready: a sibling already is; else the file
// is compressed once (or read back from the compress_cache folder).
bool StaticHandler::ensure_variant(LoopState& ls, Entry& e, Encoding enc) {
    Representation& rep = e.rep[static_cast<unsigned>(enc)];
    if (rep.state == Representation::State::ready) return true;
    if (rep.state == Representation::State::failed || !e.compress_on_the_fly) return false;
    const Representation& ident = e.rep[static_cast<unsigned>(Encoding::identity)];
    std::string folder_name;
    bool from_folder = !cfg_.compress_cache.empty() && compressed_from_folder(e, enc, folder_name, rep);
    if (!from_folder) {
        std::string_view src;
        if (ident.in_memory) {
            src = ident.data;
        } else {
            if (!read_all(ident.fd, ident.size, ls.text) || ls.text.size() != ident.size) {
                rep.state = Representation::State::failed;
                e.available &= ~bit(enc);
                return false;
            }
            src = ls.text;
        }
        int level = enc == Encoding::gzip ? cfg_.gzip_level : enc == Encoding::br ? cfg_.brotli_level : cfg_.zstd_level;
        if (!compress(enc, level, src, rep.data)) {
            rep.state = Representation::State::failed;
            e.available &= ~bit(enc);
            if (ls.text.capacity() > kMemoryMax) std::string().swap(ls.text);
            return false;
        }
        if (ls.text.capacity() > kMemoryMax) std::string().swap(ls.text);
        rep.size = rep.data.size();
        rep.in_memory = true;
        if (!cfg_.compress_cache.empty()) {
            store_in_folder(folder_name, rep.data);
            if (rep.size > kMemoryMax) {  // large copies are sent from the folder's file
                int fd = ::open(folder_name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                struct stat st {};
                if (fd >= 0 && ::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == rep.size) {
                    rep.fd = fd;
                    rep.in_memory = false;
                    std::string().swap(rep.data);
                } else if (fd >= 0) {
                    ::close(fd);
                }
            }
        }
    }
    if (!ident.etag.empty()) {
        rep.etag = ident.etag;
        rep.etag.insert(rep.etag.size() - 1, "-" + std::string(encoding_suffix(enc).substr(1)));
    }
    rep.state = Representation::State::ready;
    make_heads(e, rep, enc, true);
    if (rep.in_memory) ls.cache.charge(&e, rep.data.capacity());
    return true;
}

Outcome StaticHandler::handle(HandlerCall& call) {
    const http::Request& req = call.req;
    Reply& reply = call.reply;
    if (req.method != http::Method::get && req.method != http::Method::head)
        return plain(reply, 405, "Allow: GET, HEAD\r\n");
    LoopState& ls = state(call.loop_index);

    // The whole path is normalised, then must still lie under the route:
    // "/static/../x" is "/x", which is not this route's to answer.
    NormalizedPath n = normalize_path(req.path, ls.path, sizeof ls.path);
    if (n.status == NormalizedPath::Status::bad_request) return plain(reply, 400);
    if (n.status != NormalizedPath::Status::ok) return plain(reply, 404);
    std::string_view full(ls.path, n.len);
    if (full.substr(0, base_path_.size()) != base_path_) return Outcome::decline;
    std::string_view key = full.substr(base_path_.size());
    if (key.empty()) return redirect(call, ls, {});  // "/static" -> "/static/"
    if (key[0] != '/') return Outcome::decline;      // "/staticx" is not under "/static"
    if (!cfg_.dotfiles && key.find("/.") != std::string_view::npos) return plain(reply, 404);

    Entry* e = ls.cache.find(key);
    if (e) {
        std::int64_t now = mono_ms();
        if (now - e->checked_ms >= cfg_.cache_duration.count()) {
            if (still_valid(ls, *e)) {
                e->checked_ms = now;
            } else {
                ls.cache.erase(e);
                e = nullptr;
            }
        }
    }
    if (!e) {
        Load l = load(key, n.dir);
        switch (l.kind) {
        case Load::Kind::entry:
            e = l.entry;
            ls.cache.insert(e);
            break;
        case Load::Kind::redirect:
            return redirect(call, ls, key);
        case Load::Kind::listing:
            return listing(call, ls, key, l.dirfd);
        case Load::Kind::error:
            return plain(reply, l.status);
        }
    }
    // cppcheck-suppress nullPointerRedundantCheck ; every way out of the switch without an entry returns
    return serve(call, ls, *e);
}

Outcome StaticHandler::serve(HandlerCall& call, LoopState& ls, Entry& e) {
    const http::Request& req = call.req;
    Reply& reply = call.reply;
    const bool head = req.method == http::Method::head;
    FileRequestFields f(req);
    const bool ranged = cfg_.ranges && f.has_range;

    Encoding enc = Encoding::identity;
    if (e.available && !ranged && f.has_accept_encoding) {
        enc = choose_encoding(parse_accept_encoding(f.accept_encoding), e.available, e.precompressed);
        if (enc != Encoding::identity && !ensure_variant(ls, e, enc)) enc = Encoding::identity;
    }
    Representation& rep = e.rep[static_cast<unsigned>(enc)];

    switch (evaluate_preconditions(f, rep.etag, e.mtime)) {
    case Precondition::failed:
        return plain(reply, 412);
    case Precondition::not_modified:
        begin(reply, 304);
        add_headers(reply, rep.head_304);
        return Outcome::done;
    case Precondition::proceed:
        break;
    }

    if (ranged && (f.if_range.empty() || if_range_holds(f.if_range, rep.etag, e.mtime))) {
        RangeSet rs = parse_range(f.range, rep.size);
        if (rs.kind == RangeSet::Kind::unsatisfiable) {
            char line[64];
            int len = std::snprintf(line, sizeof line, "Content-Range: bytes */%llu\r\n",
                                    static_cast<unsigned long long>(rep.size));
            return plain(reply, 416, {line, static_cast<std::size_t>(len)});
        }
        if (rs.kind == RangeSet::Kind::satisfiable) {
            begin(reply, 206);
            if (rs.count == 1) {
                const ByteRange& r = rs.ranges[0];
                add_headers(reply, e.content_type);
                add_headers(reply, rep.head);
                char line[96];
                int len =
                    std::snprintf(line, sizeof line, "Content-Range: bytes %llu-%llu/%llu\r\n",
                                  static_cast<unsigned long long>(r.first), static_cast<unsigned long long>(r.last),
                                  static_cast<unsigned long long>(rep.size));
                add_headers(reply, {line, static_cast<std::size_t>(len)});
                if (head)
                    add_length_only(reply, r.length());
                else
                    add_body(reply, e, rep, r.first, r.length());
                return Outcome::done;
            }
            add_headers(reply, "Content-Type: multipart/byteranges; boundary=");
            add_headers(reply, boundary_);
            add_headers(reply, "\r\n");
            add_headers(reply, rep.head);
            // Each part: delimiter, Content-Type, Content-Range, the bytes (RFC 9110 14.6).
            std::uint64_t before = reply.body_len;
            std::uint64_t data = 0;
            for (std::size_t i = 0; i < rs.count; ++i) {
                const ByteRange& r = rs.ranges[i];
                add_copy(reply, i == 0 ? "--" : "\r\n--");
                add_copy(reply, boundary_);
                add_copy(reply, "\r\nContent-Type: ");
                add_copy(reply, e.mime.type);
                add_copy(reply, "\r\nContent-Range: bytes ");
                add_uint(reply, r.first);
                add_copy(reply, "-");
                add_uint(reply, r.last);
                add_copy(reply, "/");
                add_uint(reply, rep.size);
                add_copy(reply, "\r\n\r\n");
                if (head)
                    data += r.length();
                else
                    add_body(reply, e, rep, r.first, r.length());
            }
            add_copy(reply, "\r\n--");
            add_copy(reply, boundary_);
            add_copy(reply, "--\r\n");
            if (head) {  // only the length counts: replace the parts by a placeholder
                std::uint64_t total = reply.body_len - before + data;
                reply.pieces.clear();
                reply.body_len = before;
                add_length_only(reply, total);
            }
            return Outcome::done;
        }
    }

    begin(reply, 200);
    add_headers(reply, e.content_type);
    add_headers(reply, rep.head);
    if (head)
        add_length_only(reply, rep.size);
    else
        add_body(reply, e, rep, 0, rep.size);
    return Outcome::done;
}

Outcome StaticHandler::redirect(HandlerCall& call, LoopState& ls, std::string_view key) {
    std::string& loc = ls.text;
    loc.assign("Location: ");
    loc += base_;
    encode_path(key, loc);
    loc += '/';
    if (!call.req.query.empty()) {
        loc += '?';
        loc += call.req.query;
    }
    loc += "\r\n";
    Reply& reply = call.reply;
    begin(reply, 301);
    add_headers(reply, kTextPlain);
    add_headers(reply, loc);
    add_copy(reply, "Moved Permanently\n");
    return Outcome::done;
}

Outcome StaticHandler::listing(HandlerCall& call, LoopState& ls, std::string_view key, int dirfd) {
    ls.items.clear();
    std::size_t more = 0;
    bool ok = read_directory(dirfd, cfg_.dotfiles, kMaxListing, ls.items, more);
    ::close(dirfd);
    if (!ok) return plain(call.reply, 403);
    std::string& page = ls.text;
    page.clear();
    std::string shown = base_;
    shown += key;
    render_listing(ls.items, more, shown, key != "/", page);
    Reply& reply = call.reply;
    begin(reply, 200);
    add_headers(reply, kTextHtml);
    if (call.req.method == http::Method::head)
        add_length_only(reply, page.size());
    else
        add_copy(reply, page);
    ls.items.clear();
    if (page.capacity() > (1u << 20)) std::string().swap(page);
    return Outcome::done;
}

}  // namespace files

std::unique_ptr<Handler> make_static_handler(const RouteConfig& route, const Config& config) {
    return std::make_unique<files::StaticHandler>(route, config);
}

}  // namespace brisk
