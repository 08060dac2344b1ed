// brisk — the log: level and destination from --log-level and --error-log.
#pragma once

#include <string>

#include "settings.hpp"

namespace brisk::cli {

/**
 * Installs brisk's logger as spdlog's default logger (named "brisk"): the
 * standard error, or `options.error_log` opened for appending, at
 * `options.log_level`. Returns false with a one-line reason when the file
 * cannot be opened.
 */
bool setup_logging(const Options& options, std::string& error);

/**
 * Opens the error log file again by its name (after logrotate moved it);
 * lines then go to the new file. Nothing to do when logging to stderr.
 * Thread-safe. Returns false with a one-line reason, the old file kept.
 */
bool reopen_error_log(std::string& error);

}  // namespace brisk::cli
