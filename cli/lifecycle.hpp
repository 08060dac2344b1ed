// brisk — the process's life once the command line is read: serving,
// reload on SIGHUP, log reopening on SIGUSR1, a graceful stop on
// SIGINT/SIGTERM, systemd notification and socket activation, and the
// prefork master (--processes).
#pragma once

#include "settings.hpp"

namespace brisk::cli {

/**
 * Serves with `options` (parsed from argc/argv, which a reload parses again)
 * until SIGINT or SIGTERM; returns the exit status: 0 after a graceful
 * stop, 1 when start-up failed or --shutdown-timeout cut the stop short.
 */
int serve(int argc, const char* const* argv, const Options& options);

}  // namespace brisk::cli
