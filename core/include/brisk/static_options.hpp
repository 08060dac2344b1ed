// brisk — the options of a static-file route (StaticConfig), declared next
// to the handler that serves them (core/static/): one descriptor per option,
// with its type, its field and its check. The configuration file reader
// (cli/toml_config.cpp) applies any of them generically; a new option is a
// field in StaticConfig and a line in core/static/options.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brisk/config.hpp"

namespace brisk {

/** A directory name as written for a route: not empty, no NUL. Whether it is a directory is checked at start. */
bool check_static_root(std::string_view dir, std::string& error);

/** Whether `value` may be a header field value: visible ASCII and inner spaces, not empty. */
bool is_header_value(std::string_view value);

namespace static_files {

enum class OptionKind : std::uint8_t {
    flag,      // true or false
    level,     // a whole number from `min` to `max`
    size,      // "1MiB", or a number of bytes
    duration,  // "10s", or 0
    text,      // a string, checked by `check`
    names,     // a string, or an array of strings, each checked by `check`
    table,     // a table of NAME = "string", each entry added by `add`
};

struct Option {
    std::string_view key;
    OptionKind kind;
    /** What a value of the wrong type is told to be ("true or false"). */
    std::string_view expected;
    // The field, by kind.
    bool StaticConfig::*flag = nullptr;
    int StaticConfig::*level = nullptr;
    int min = 0, max = 0;
    std::uint64_t StaticConfig::*size = nullptr;
    Duration StaticConfig::*duration = nullptr;
    std::string StaticConfig::*text = nullptr;
    std::vector<std::string> StaticConfig::*names = nullptr;
    /** text and names: checks one value; false with the reason (the key is put before it). */
    bool (*check)(std::string_view value, std::string& error) = nullptr;
    /** table: checks an entry's name and gives it as stored ("."+ext -> ext); false with the reason. */
    bool (*entry_name)(std::string_view name, std::string& out, std::string& error) = nullptr;
    /** table: checks an entry's value and adds the entry; false with the reason. */
    bool (*add)(StaticConfig& out, std::string_view name, std::string_view value, std::string& error) = nullptr;
};

/** Every option of a static route, in the order the documentation lists them. */
std::span<const Option> route_options();

/** The option named `key`, or null. */
const Option* find_route_option(std::string_view key);

}  // namespace static_files
}  // namespace brisk
