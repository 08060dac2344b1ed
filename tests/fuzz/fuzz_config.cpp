// brisk — fuzzes the --config path: TOML text -> settings -> finalize(), as
// `brisk --check-config` validates it. Nothing may throw or crash; a file
// that passes yields a Config the server can start from.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "settings.hpp"
#include "toml_config.hpp"

using namespace brisk;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    cli::Options options;
    std::vector<std::string> errors;
    bool ok = cli::apply_toml(text, "fuzz.toml", options, errors);
    FUZZ_CHECK(ok == errors.empty());
    cli::finalize(options, errors);
    for (const std::string& e : errors) {
        FUZZ_CHECK(!e.empty());
        if (e.find('\n') != std::string::npos) std::fprintf(stderr, "error of several lines: %s\n", e.c_str());
        FUZZ_CHECK(e.find('\n') == std::string::npos);  // one line per problem
    }
    if (!errors.empty()) return 0;

    const Config& c = options.server;
    FUZZ_CHECK(c.loops >= 1);
    FUZZ_CHECK(!c.listen.empty());
    FUZZ_CHECK(!c.routes.empty());
    for (const RouteConfig& r : c.routes) {
        FUZZ_CHECK(!r.path.empty() && r.path[0] == '/');
        if (r.kind == RouteKind::plugin) {
            bool found = false;
            for (const PluginInstanceConfig& p : c.plugins) found = found || p.name == r.plugin;
            FUZZ_CHECK(found);
        }
        if (r.kind == RouteKind::static_files) FUZZ_CHECK(!r.static_files.root.empty());
    }
    return 0;
}
