// brisk — the --config file: TOML, one key per setting plus [plugins.NAME]
// and [[route]] tables.
//
// The only file that sees toml++. Keys are the flag names with '-' turned into
// '_' (see settings.hpp). Unknown keys, wrong types and bad values are errors
// reported as "file:line:column: message", every one of them, in file order.
// Plugin instances are read before anything else, so routes can name them and
// `plugin = ["PREFIX=FILE.so"]` entries do not take their names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "settings.hpp"

namespace brisk::cli {

/**
 * Reads the TOML file at `path` and applies its settings over `out`. Appends
 * one line per problem to `errors`; returns true when there was none.
 */
bool load_config_file(const std::string& path, Options& out, std::vector<std::string>& errors);

/** As load_config_file, for TOML text in memory; `source` names it in messages and route origins. */
bool apply_toml(std::string_view text, const std::string& source, Options& out, std::vector<std::string>& errors);

}  // namespace brisk::cli
