// brisk — the command line (see options.hpp).
#include "options.hpp"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "brisk/server.hpp"
#include "toml_config.hpp"

#ifndef BRISK_VERSION
#error "BRISK_VERSION must be defined by the build"
#endif

namespace brisk::cli {
namespace {

constexpr const char* footer =
    "Every flag except --config, --check-config, --help and --version is also a key of the\n"
    "--config file, spelled with '_' for '-' (read_timeout = \"10s\"); flags override the file.\n"
    "DUR: 500ms, 10s, 2m, 1h, 1m30s, or 0 for no limit.  SIZE: bytes, 8KiB, 4MiB, 1GiB, or 8k, 4m, 1g.\n"
    "Exit status: 0 on success, 1 on invalid settings or startup failure, 2 on usage errors.\n"
    "See brisk(1) and brisk.toml(5).";

/** Where one setting's command-line value lands before it is applied. */
struct Slot {
    CLI::Option* option = nullptr;
    std::string value;
    std::vector<std::string> values;
    bool on = false;
};

}  // namespace

std::optional<int> parse_command_line(int argc, const char* const* argv, Options& out, std::ostream& out_stream,
                                      std::ostream& err_stream) {
    CLI::App app{"brisk - a fast HTTP/1.1 server", "brisk"};
    app.footer(footer);
    app.get_formatter()->column_width(40);
    app.set_help_flag("-h,--help", "Print this help and exit");
    app.set_version_flag("--version", std::string("brisk ") + BRISK_VERSION, "Print the version and exit");

    std::string config_path;
    bool check_config = false;
    CLI::Option* config_option =
        app.add_option("--config", config_path, "Read settings from this TOML file; flags override it")
            ->type_name("FILE")
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_flag("--check-config", check_config, "Check the flags and the config file, list every problem, exit");

    const Options defaults;
    const auto table = settings();
    std::vector<Slot> slots(table.size());  // sized once: CLI11 keeps pointers into it
    for (std::size_t i = 0; i < table.size(); ++i) {
        const Setting& s = table[i];
        Slot& slot = slots[i];
        std::string name = "--" + std::string(s.name);
        std::string help(s.help);
        switch (s.kind) {
        case ValueKind::flag:
            slot.option = app.add_flag(name, slot.on, help);
            break;
        case ValueKind::text_list:
            slot.option = app.add_option(name, slot.values, help)->allow_extra_args(false);
            break;
        case ValueKind::count:
        case ValueKind::duration:
        case ValueKind::size:
        case ValueKind::text:
            slot.option = app.add_option(name, slot.value, help)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
            break;
        }
        if (s.kind != ValueKind::flag) {
            slot.option->type_name(std::string(s.metavar));
            slot.option->default_str(s.default_text(defaults));
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out_stream, err_stream);
        return code == 0 ? 0 : exit_usage;
    }

    Options options;
    std::vector<std::string> errors;
    if (config_option->count() > 0) {
        options.config_path = config_path;
        load_config_file(config_path, options, errors);
    }
    for (std::size_t i = 0; i < table.size(); ++i) {
        const Setting& s = table[i];
        const Slot& slot = slots[i];
        if (slot.option->count() == 0) continue;
        const std::string flag = "--" + std::string(s.name);
        std::string error;
        switch (s.kind) {
        case ValueKind::flag:
            s.set_flag(options, slot.on);
            break;
        case ValueKind::text_list:
            if (s.clear != nullptr) s.clear(options);
            for (const auto& value : slot.values) {
                if (!s.apply(options, value, flag, error)) errors.push_back(flag + ": " + error);
            }
            break;
        case ValueKind::count:
        case ValueKind::duration:
        case ValueKind::size:
        case ValueKind::text:
            if (!s.apply(options, slot.value, flag, error)) errors.push_back(flag + ": " + error);
            break;
        }
    }
    finalize(options, errors);
    options.check_config = check_config;

    if (!errors.empty()) {
        for (const auto& error : errors) err_stream << "brisk: " << error << '\n';
        err_stream.flush();
        return exit_invalid;
    }
    if (check_config) {
        // The plugins are loaded and created as start-up would (then destroyed): every failing instance is listed.
        std::vector<std::string> problems = check_plugins(options.server);
        if (std::string tls = check_tls(options.server); !tls.empty()) problems.push_back(std::move(tls));
        if (!problems.empty()) {
            for (const auto& problem : problems) err_stream << "brisk: " << problem << '\n';
            err_stream.flush();
            return exit_invalid;
        }
        out_stream << "configuration OK\n";
        out_stream.flush();
        return 0;
    }
    out = std::move(options);
    return std::nullopt;
}

}  // namespace brisk::cli
