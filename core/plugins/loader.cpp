// brisk — loading a plugin file: every refusal is one line that names the
// instance, the file and what to do, and happens before anything is served.
#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <fcntl.h>
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

struct FileId {
    dev_t dev;
    ino_t ino;
};

/** Which file each configured path named when it was last loaded. */
std::map<std::string, FileId>& loaded_files() {
    static std::map<std::string, FileId> files;
    return files;
}
std::mutex loaded_files_mutex;

std::string version(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

const brisk_plugin_descriptor* load_plugin(const PluginInstanceConfig& pc) {
    const std::string& file = pc.file;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) refuse(pc, "cannot load " + file + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) refuse(pc, "cannot load " + file + ": not a regular file");
    // Anyone who may write the file may run code inside brisk.
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        refuse(pc, file + " is group- or world-writable; refusing to load it (chmod go-w " + file + ")");
    if (!pc.sha256.empty()) {
        std::string digest, error;
        if (!sha256_file(file, digest, error)) refuse(pc, "cannot read " + file + ": " + error);
        if (digest != pc.sha256) refuse(pc, file + " has sha256 " + digest + ", but the config pins " + pc.sha256);
    }

    // RTLD_LOCAL: a plugin's symbols never satisfy another plugin's. Never dlclose()d.
    // A name without '/' would make dlopen search the library path, not open the file checked above.
    std::string open_as = file.find('/') == std::string::npos ? "./" + file : file;
    std::lock_guard lock(loaded_files_mutex);
    // A path whose file was replaced (by rename, as installs do) since it was
    // loaded would get the old code back from dlopen(), which knows it by
    // name. The new file is opened through a descriptor instead, kept open
    // for the life of the process so that its name stays this file's.
    int fd = -1;
    if (auto it = loaded_files().find(file);
        it != loaded_files().end() && (it->second.dev != st.st_dev || it->second.ino != st.st_ino)) {
        fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat now {};
        if (fd < 0 || ::fstat(fd, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
            if (fd >= 0) ::close(fd);
            refuse(pc, "cannot load " + file + ": it changed while being loaded");
        }
        open_as = "/proc/self/fd/" + std::to_string(fd);
    }
    // A refused file is unloaded again; an accepted one stays for the life of the process.
    struct Unload {
        void* dl = nullptr;
        int fd;
        ~Unload() {
            if (dl) ::dlclose(dl);
            if (fd >= 0) ::close(fd);
        }
    } unload{nullptr, fd};
    void* dl = ::dlopen(open_as.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char* e = ::dlerror();
        refuse(pc, "cannot load " + file + ": " + (e ? e : "dlopen failed"));
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
    unload.dl = nullptr;
    unload.fd = -1;
    loaded_files()[file] = FileId{st.st_dev, st.st_ino};
    // cppcheck-suppress resourceLeak ; an accepted plugin is never unloaded
    return d;
}

}  // namespace brisk
