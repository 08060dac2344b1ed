// brisk — the binary: settings in, a running server, a graceful stop on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "brisk/server.hpp"
#include "logging.hpp"
#include "options.hpp"

namespace {

int fail(const std::string& message, bool also_log) {
    std::cerr << "brisk: " << message << std::endl;
    // With --error-log FILE the file should tell the story too.
    if (also_log) spdlog::error("{}", message);
    return brisk::cli::exit_invalid;
}

int run(const brisk::cli::Options& options) {
    std::string error;
    if (!brisk::cli::setup_logging(options, error)) return fail(error, false);
    const bool log_to_file = !options.error_log.empty();

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);

    try {
        brisk::Server server(options.server);
        server.listen();

        // Blocked before the loop threads exist, so they inherit the mask and
        // the signals reach sigwait() below instead of an arbitrary thread.
        if (int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0)
            return fail(std::string("cannot block signals: ") + std::strerror(rc), log_to_file);
        server.start();
        // Only once every loop is up: a failed start-up prints just its one error line.
        for (const auto& line : server.plugin_summaries()) spdlog::info("{}", line);
        for (const auto& address : server.bound_addresses()) spdlog::info("listening on {}", address);

        int signal_number = 0;
        if (int rc = sigwait(&stop_signals, &signal_number); rc != 0) {
            server.stop();
            server.wait();
            return fail(std::string("sigwait: ") + std::strerror(rc), log_to_file);
        }
        spdlog::info("{} received, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
        // A second signal ends brisk at once, should the graceful stop take too long.
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
        server.stop();
        server.wait();
        spdlog::info("stopped");
    } catch (const brisk::Error& e) {
        return fail(e.what(), log_to_file);
    } catch (const std::exception& e) {
        return fail(e.what(), log_to_file);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // A client that goes away mid-response must cost an EPIPE, not the process.
    signal(SIGPIPE, SIG_IGN);
    try {
        brisk::cli::Options options;
        if (auto status = brisk::cli::parse_command_line(argc, argv, options, std::cout, std::cerr)) return *status;
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "brisk: " << e.what() << std::endl;
        return brisk::cli::exit_invalid;
    }
}
