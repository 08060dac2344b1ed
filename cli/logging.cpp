// brisk — the log (see logging.hpp).
#include "logging.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace brisk::cli {

bool setup_logging(const Options& options, std::string& error) {
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (options.error_log.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
        // Open it once ourselves: spdlog's own message on failure is less direct.
        std::FILE* probe = std::fopen(options.error_log.c_str(), "a");
        if (probe == nullptr) {
            error = "cannot open error log \"" + options.error_log + "\": " + std::strerror(errno);
            return false;
        }
        std::fclose(probe);
        try {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.error_log, false);
        } catch (const spdlog::spdlog_ex& e) {
            error = "cannot open error log \"" + options.error_log + "\": " + e.what();
            return false;
        }
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
