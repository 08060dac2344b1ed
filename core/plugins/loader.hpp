// brisk — opening a plugin file and checking it against this host's ABI.
#pragma once

#include "brisk/config.hpp"
#include "brisk/plugin_abi.h"

namespace brisk {

/**
 * dlopen()s `pc.file` (RTLD_NOW | RTLD_LOCAL) after checking that it is a
 * regular file, not group- or world-writable, and matches its sha256 pin;
 * then calls its entry point and checks the descriptor's ABI. Throws
 * brisk::Error ("plugin \"x\": libx.so was built for plugin ABI 2.0; this
 * brisk speaks 1.x") on any refusal.
 */
const brisk_plugin_descriptor* load_plugin(const PluginInstanceConfig& pc);

}  // namespace brisk
