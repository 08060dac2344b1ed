// brisk — unit-test helpers for the command line and the TOML file.
#pragma once

#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "options.hpp"
#include "settings.hpp"
#include "toml_config.hpp"

namespace brisk::cli::testing {

/** What parse_command_line() made of a command line. */
struct Run {
    std::optional<int> status;
    Options options;
    std::string out;
    std::string err;
};

/** Parses `brisk ARGS...`. */
inline Run run(std::initializer_list<std::string> args) {
    std::vector<std::string> storage{"brisk"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const auto& a : storage) argv.push_back(a.c_str());
    Run r;
    std::ostringstream out, err;
    r.status = parse_command_line(static_cast<int>(argv.size()), argv.data(), r.options, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

/** Applies TOML `text` (named t.toml) over `o`; returns the problems. */
inline std::vector<std::string> toml_errors(const std::string& text, Options& o) {
    std::vector<std::string> errors;
    apply_toml(text, "t.toml", o, errors);
    return errors;
}

}  // namespace brisk::cli::testing
