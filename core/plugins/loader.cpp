// brisk — loading a plugin file: every refusal is one line that names the
// instance, the file and what to do, and happens before anything is served.
#include "plugins/loader.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "brisk/server.hpp"
#include "plugins/host.hpp"
#include "plugins/sha256.hpp"

namespace brisk {
namespace {

[[noreturn]] void refuse(const PluginInstanceConfig& pc, const std::string& why) {
    throw Error("plugin \"" + pc.name + "\": " + why);
}

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
    const std::string open_as = file.find('/') == std::string::npos ? "./" + file : file;
    void* dl = ::dlopen(open_as.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char* e = ::dlerror();
        refuse(pc, "cannot load " + file + ": " + (e ? e : "dlopen failed"));
    }
    // A refused file is unloaded again; an accepted one stays for the life of the process.
    struct Unload {
        void* dl;
        ~Unload() {
            if (dl) ::dlclose(dl);
        }
    } unload{dl};
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
    // cppcheck-suppress resourceLeak ; an accepted plugin is never unloaded
    return d;
}

}  // namespace brisk
