// brisk — the log (see logging.hpp).
#include "logging.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace brisk::cli {
namespace {

// With an error log file: the file's sink sits in a distributing sink, so
// that SIGUSR1 can swap in a sink of a newly opened file while other threads log.
std::shared_ptr<spdlog::sinks::dist_sink_mt> g_file_sinks;
std::string g_error_log;

std::shared_ptr<spdlog::sinks::sink> open_file_sink(const std::string& path, std::string& error) {
    // Open it once ourselves: spdlog's own message on failure is less direct.
    std::FILE* probe = std::fopen(path.c_str(), "a");
    if (probe == nullptr) {
        error = "cannot open error log \"" + path + "\": " + std::strerror(errno);
        return nullptr;
    }
    std::fclose(probe);
    try {
        return std::make_shared<spdlog::sinks::basic_file_sink_st>(path, false);
    } catch (const spdlog::spdlog_ex& e) {
        error = "cannot open error log \"" + path + "\": " + e.what();
        return nullptr;
    }
}

}  // namespace

bool reopen_error_log(std::string& error) {
    if (!g_file_sinks) return true;
    auto sink = open_file_sink(g_error_log, error);
    if (!sink) return false;
    g_file_sinks->set_sinks({std::move(sink)});
    return true;
}

bool setup_logging(const Options& options, std::string& error) {
    std::shared_ptr<spdlog::sinks::sink> sink;
    g_file_sinks.reset();
    if (options.error_log.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
        auto file = open_file_sink(options.error_log, error);
        if (!file) return false;
        g_file_sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
        g_file_sinks->add_sink(std::move(file));
        g_error_log = options.error_log;
        sink = g_file_sinks;
    }
    auto logger = std::make_shared<spdlog::logger>("brisk", std::move(sink));
    logger->set_level(spdlog::level::from_str(options.log_level));
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    // Log lines are rare (errors and lifecycle); a line should be on disk when it is written.
    logger->flush_on(spdlog::level::trace);
    spdlog::drop("brisk");
    spdlog::set_default_logger(std::move(logger));
    return true;
}

}  // namespace brisk::cli
