// brisk — the command line: flags, --config, --check-config, --help, --version.
//
// The only file that sees CLI11. Flags are parsed as text and handed to the
// same apply functions as the TOML file (settings.hpp), after the file, so a
// flag overrides the file's value.
#pragma once

#include <iosfwd>
#include <optional>

#include "settings.hpp"

namespace brisk::cli {

/** Exit status for invalid settings (bad values, unreadable file). */
inline constexpr int exit_invalid = 1;
/** Exit status for usage errors (unknown flag, missing argument). */
inline constexpr int exit_usage = 2;

/**
 * Parses the command line and the --config file it names into `out`.
 * Returns nothing when brisk should go on and serve; otherwise the status to
 * exit with: 0 after --help, --version or a passing --check-config (which
 * prints "configuration OK" on `out_stream`), exit_invalid after bad settings
 * (each problem printed as one "brisk: ..." line on `err_stream`), exit_usage
 * after a usage error.
 */
std::optional<int> parse_command_line(int argc, const char* const* argv, Options& out, std::ostream& out_stream,
                                      std::ostream& err_stream);

}  // namespace brisk::cli
