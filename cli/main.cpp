// brisk — the binary: the command line in, then the process's life (lifecycle.cpp).
#include <signal.h>

#include <exception>
#include <iostream>

#include "lifecycle.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
    // A client that goes away mid-response must cost an EPIPE, not the process.
    signal(SIGPIPE, SIG_IGN);
    try {
        brisk::cli::Options options;
        if (auto status = brisk::cli::parse_command_line(argc, argv, options, std::cout, std::cerr)) return *status;
        return brisk::cli::serve(argc, argv, options);
    } catch (const std::exception& e) {
        std::cerr << "brisk: " << e.what() << std::endl;
        return brisk::cli::exit_invalid;
    }
}
