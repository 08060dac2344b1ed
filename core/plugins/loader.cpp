// brisk — loading a plugin file: every refusal is one line that names the
// instance, the file and what to do, and happens before anything is served.
#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "brisk/server.hpp"
#include "plugins/host.hpp"
#include "plugins/sha256.hpp"

namespace brisk {
namespace {

[[noreturn]] void refuse(const PluginInstanceConfig& pc, const std::string& why) {
    throw Error("plugin \"" + pc.name + "\": " + why);
}

/**
 * The private copies of plugin files this process loaded, by content: a
 * sealed memfd each, kept open (and so mapped code stays valid) for the life
 * of the process. A file overwritten in place or deleted never touches code
 * brisk runs, and a reload of unchanged bytes finds the same copy (dlopen()
 * then returns the library already loaded).
 */
std::map<std::string, int>& copies() {
    static std::map<std::string, int> by_digest;
    return by_digest;
}
std::mutex copies_mutex;

/** The whole file behind `fd` (a plugin: a few MiB at most); false with errno set. */
bool read_all(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) return true;
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

/** A sealed memfd holding `bytes`, or -1 with errno set. */
int sealed_copy(const std::string& name, const std::string& bytes) {
    const int fd = ::memfd_create(("brisk-plugin:" + name).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            errno = err;
            return -1;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

std::string version(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

const brisk_plugin_descriptor* load_plugin(const PluginInstanceConfig& pc) {
    const std::string& file = pc.file;
    // Everything is checked on the descriptor read, and what is loaded is a
    // private copy of exactly the bytes checked.
    const int src = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the open
    if (src < 0) refuse(pc, "cannot load " + file + ": " + std::strerror(errno));
    struct Source {
        int fd;
        ~Source() { ::close(fd); }
    } source{src};
    struct stat st {};
    if (::fstat(src, &st) != 0) refuse(pc, "cannot load " + file + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) refuse(pc, "cannot load " + file + ": not a regular file");
    // Anyone who may write the file may run code inside brisk.
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        refuse(pc, file + " is group- or world-writable; refusing to load it (chmod go-w " + file + ")");
    std::string bytes;
    if (!read_all(src, bytes)) refuse(pc, "cannot read " + file + ": " + std::strerror(errno));
    const std::string digest = Sha256::hex(bytes);
    if (!pc.sha256.empty() && digest != pc.sha256)
        refuse(pc, file + " has sha256 " + digest + ", but the config pins " + pc.sha256);

    // RTLD_LOCAL: a plugin's symbols never satisfy another plugin's. Never dlclose()d.
    std::lock_guard lock(copies_mutex);
    int copy = -1;
    bool made = false;
    if (auto it = copies().find(digest); it != copies().end()) {
        copy = it->second;
    } else {
        const std::size_t slash = file.rfind('/');
        copy = sealed_copy(slash == std::string::npos ? file : file.substr(slash + 1), bytes);
        if (copy < 0) refuse(pc, "cannot load " + file + ": a private copy failed: " + std::strerror(errno));
        made = true;
    }
    const std::string open_as = "/proc/self/fd/" + std::to_string(copy);
    // A refused file is unloaded again (and a copy made for it closed); an
    // accepted one stays for the life of the process.
    struct Unload {
        void* dl = nullptr;
        int fd;
        ~Unload() {
            if (dl) ::dlclose(dl);
            if (fd >= 0) ::close(fd);
        }
    } unload{nullptr, made ? copy : -1};
    void* dl = ::dlopen(open_as.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char* e = ::dlerror();
        std::string why = e ? e : "dlopen failed";
        // The loader names the private copy; the operator knows the file.
        if (why.rfind(open_as, 0) == 0) why.replace(0, open_as.size(), file);
        refuse(pc, "cannot load " + file + ": " + why);
    }
    unload.dl = dl;
    auto entry = reinterpret_cast<brisk_plugin_entry_v1_fn>(::dlsym(dl, BRISK_PLUGIN_ENTRY_V1));
    if (!entry) {
        for (int major = 2; major <= 9; ++major) {
            std::string sym = "brisk_plugin_entry_v" + std::to_string(major);
            if (::dlsym(dl, sym.c_str()))
                refuse(pc, file + " was built for plugin ABI " + std::to_string(major) + ".x; this brisk speaks " +
                               std::to_string(BRISK_PLUGIN_ABI_MAJOR) + ".x");
        }
        refuse(pc, file + " is not a brisk plugin: it exports no " BRISK_PLUGIN_ENTRY_V1);
    }
    const brisk_plugin_descriptor* d = entry(BRISK_PLUGIN_ABI_MAJOR, BRISK_PLUGIN_ABI_MINOR, &plugin_host_api());
    if (!d) refuse(pc, file + " declined to load (its entry point returned NULL)");
    if (d->size < offsetof(brisk_plugin_descriptor, destroy) + sizeof d->destroy)
        refuse(pc, file + " has a malformed descriptor (size " + std::to_string(d->size) + ")");
    if (d->abi_major != BRISK_PLUGIN_ABI_MAJOR)
        refuse(pc, file + " was built for plugin ABI " + version(d->abi_major, d->abi_minor) + "; this brisk speaks " +
                       std::to_string(BRISK_PLUGIN_ABI_MAJOR) + ".x");
    if (d->min_host_minor > BRISK_PLUGIN_ABI_MINOR)
        refuse(pc, file + " needs plugin ABI " + version(BRISK_PLUGIN_ABI_MAJOR, d->min_host_minor) +
                       " or newer; this brisk speaks " + version(BRISK_PLUGIN_ABI_MAJOR, BRISK_PLUGIN_ABI_MINOR));
    if (!d->create || !d->handle) refuse(pc, file + " has no create or handle callback");
    if ((d->capabilities & BRISK_CAP_BODY_STREAM) && (d->capabilities & BRISK_CAP_BLOCKING))
        refuse(pc, file + " asks for BRISK_CAP_BODY_STREAM with BRISK_CAP_BLOCKING, which do not combine");
    unload.dl = nullptr;
    unload.fd = -1;
    copies().emplace(digest, copy);
    // cppcheck-suppress resourceLeak ; an accepted plugin is never unloaded
    return d;
}

}  // namespace brisk
