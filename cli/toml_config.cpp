// brisk — the --config file (see toml_config.hpp).
#include "toml_config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "brisk/static_options.hpp"
#include "brisk/units.hpp"

namespace brisk::cli {
namespace {

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a float";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Each problem is one line: control bytes a message quotes from the file (a
// newline in a quoted key, the rest of the line in toml++'s description of a
// parse error) are written as escapes.
std::string one_line(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if ((u < 0x20 && c != '\t') || u == 0x7f)
            out += {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
        else
            out += c;
    }
    return out;
}

struct Problem {
    toml::source_position at;
    std::string message;
};

class Reader;

/**
 * One thing a route can do. A route names exactly one action by its key;
 * `options` are the further keys that action accepts. A new action (static
 * files, plugins) is one more entry in `route_actions`.
 */
struct RouteAction {
    std::string_view key;
    std::span<const std::string_view> options;
    /** Fills `route` from the table; reports problems through the reader. */
    bool (*build)(Reader& reader, const toml::table& table, RouteConfig& route);
};

bool build_respond(Reader& reader, const toml::table& table, RouteConfig& route);
bool build_plugin(Reader& reader, const toml::table& table, RouteConfig& route);
bool build_static(Reader& reader, const toml::table& table, RouteConfig& route);
bool build_type(Reader& reader, const toml::table& table, RouteConfig& route);
void read_static_option(Reader& reader, const static_files::Option& opt, const toml::node& node, StaticConfig& out);

constexpr std::array<std::string_view, 2> respond_options{"status", "content_type"};
constexpr std::array<RouteAction, 4> route_actions{{
    {"respond", respond_options, build_respond},
    {"plugin", {}, build_plugin},
    {"static", {}, build_static},
    {"type", {}, build_type},
}};

/** Keys of a route's `static = { ... }` table. */
constexpr std::array<std::string_view, 2> route_match_keys{"path", "prefix"};
/** Keys that narrow a route of any kind. */
constexpr std::array<std::string_view, 2> route_filter_keys{"methods", "host"};

constexpr std::array<std::string_view, 4> plugin_keys{"file", "sha256", "config", "handler_timeout"};

std::string route_keys_list() {
    std::string list;
    auto add = [&](std::string_view k) {
        if (!list.empty()) list += ", ";
        list += k;
    };
    for (auto k : route_match_keys) add(k);
    for (const auto& action : route_actions) {
        add(action.key);
        for (auto k : action.options) add(k);
    }
    for (auto k : route_filter_keys) add(k);
    return list;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool earlier(const toml::source_position& a, const toml::source_position& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

class Reader {
public:
    Reader(const std::string& source, Options& out) : source_(source), out_(out) {}

    void problem(const toml::source_region& at, std::string message) {
        problems_.push_back({at.begin, std::move(message)});
    }

    std::string where(const toml::source_region& at) const {
        return source_ + ":" + std::to_string(at.begin.line) + ":" + std::to_string(at.begin.column);
    }

    void read_root(const toml::table& root) {
        // Instances first: routes name them, and --plugin-style entries
        // (`plugin = [...]`) must not take their names.
        if (const toml::node* plugins = root.get("plugins")) read_plugins(*plugins);
        for (auto&& [key, node] : root) {
            std::string_view name = key.str();
            if (name == "plugins") {
                continue;
            } else if (name == "route") {
                read_routes(node);
            } else if (name == "tls_certificate") {
                if (root.contains("tls_cert") || root.contains("tls_key"))
                    problem(node.source(),
                            "tls_certificate: give the certificates as [[tls_certificate]] tables or "
                            "as tls_cert and tls_key lists, not both");
                else
                    read_certificates(node);
            } else if (name == "plugin" && node.is_table()) {
                problem(node.source(),
                        "plugin: write [plugins.NAME] for a plugin instance, or plugin = "
                        "[\"PREFIX=FILE.so\"] for a prefix served by a shared object");
            } else if (const Setting* setting = find_setting_by_key(name)) {
                read_setting(*setting, name, node);
            } else {
                unknown_root_key(key);
            }
        }
    }

    /** Appends the problems, in file order, to `errors`. */
    bool finish(std::vector<std::string>& errors) {
        std::stable_sort(problems_.begin(), problems_.end(),
                         [](const Problem& a, const Problem& b) { return earlier(a.at, b.at); });
        for (const auto& p : problems_) {
            errors.push_back(source_ + ":" + std::to_string(p.at.line) + ":" + std::to_string(p.at.column) + ": " +
                             one_line(p.message));
        }
        return problems_.empty();
    }

private:
    void unknown_root_key(const toml::key& key) {
        std::string name(key.str());
        std::string message = "unknown key " + quoted(name);
        std::string underscored = name;
        std::replace(underscored.begin(), underscored.end(), '-', '_');
        if (underscored != name && find_setting_by_key(underscored) != nullptr)
            message += " (keys use '_': " + underscored + ")";
        else if (underscored == "config" || underscored == "check_config" || underscored == "version" ||
                 underscored == "help")
            message += " (--" + name + " is a command-line flag only)";
        problem(key.source(), std::move(message));
    }

    /** Applies one textual value through the setting's apply function. */
    void apply(const Setting& setting, std::string_view key, const toml::node& node, std::string_view value) {
        std::string error;
        if (!setting.apply(out_, value, where(node.source()), error))
            problem(node.source(), std::string(key) + ": " + error);
    }

    /** Applies a TOML integer to a count or a size as the number it is. */
    void apply_integer(const Setting& setting, std::string_view key, const toml::node& node, std::int64_t value) {
        std::string error;
        if (!setting.apply_integer(out_, value, error)) problem(node.source(), std::string(key) + ": " + error);
    }

    void wrong_type(std::string_view key, const toml::node& node, std::string_view expected) {
        problem(node.source(),
                std::string(key) + ": expected " + std::string(expected) + ", not " + std::string(type_name(node)));
    }

    void read_setting(const Setting& setting, std::string_view key, const toml::node& node) {
        switch (setting.kind) {
        case ValueKind::flag:
            if (auto b = node.as_boolean())
                setting.set_flag(out_, b->get());
            else
                wrong_type(key, node, "true or false");
            return;
        case ValueKind::count:
            if (auto i = node.as_integer())
                apply_integer(setting, key, node, i->get());
            else
                wrong_type(key, node, "a whole number");
            return;
        case ValueKind::duration:
            if (auto s = node.as_string())
                apply(setting, key, node, s->get());
            else if (auto i = node.as_integer(); i && i->get() == 0)
                apply_integer(setting, key, node, 0);
            else if (i)
                problem(node.source(), std::string(key) + ": a duration needs a unit; write it as a string, " +
                                           "as in \"" + std::to_string(i->get()) + "s\"");
            else
                wrong_type(key, node, "a duration string such as \"10s\"");
            return;
        case ValueKind::size:
            if (auto s = node.as_string())
                apply(setting, key, node, s->get());
            else if (auto i = node.as_integer())
                apply_integer(setting, key, node, i->get());
            else
                wrong_type(key, node, "a size such as \"4MiB\" or a number of bytes");
            return;
        case ValueKind::text:
            if (auto s = node.as_string())
                apply(setting, key, node, s->get());
            else
                wrong_type(key, node, "a string");
            return;
        case ValueKind::text_list:
            if (auto s = node.as_string()) {
                apply(setting, key, node, s->get());
            } else if (auto a = node.as_array()) {
                for (const auto& element : *a) {
                    if (auto es = element.as_string())
                        apply(setting, key, element, es->get());
                    else if (auto et = element.as_table(); et && key == "listen")
                        read_listen_table(setting, *et);
                    else
                        wrong_type(
                            key, element,
                            key == "listen" ? "a string or an { address, proxy, tls, redirect } table" : "a string");
                }
            } else {
                wrong_type(key, node, "a string or an array of strings");
            }
            return;
        }
    }

    // [[listen]] with address = "HOST:PORT" and proxy, tls, redirect = true: the same as "HOST:PORT,proxy,tls".
    void read_listen_table(const Setting& setting, const toml::table& table) {
        static constexpr std::string_view options[] = {"proxy", "tls", "redirect"};
        std::string address;
        std::string given;  // ",proxy,tls" of the options set
        bool ok = true;
        for (auto&& [k, v] : table) {
            const bool option = std::find(std::begin(options), std::end(options), k.str()) != std::end(options);
            if (k.str() == "address" && v.as_string()) {
                address = v.as_string()->get();
            } else if (k.str() == "address") {
                ok = false;
                wrong_type("listen.address", v, "a string");
            } else if (option && v.as_boolean()) {
                if (v.as_boolean()->get()) given.append(",").append(k.str());
            } else if (option) {
                ok = false;
                wrong_type("listen." + std::string(k.str()), v, "true or false");
            } else {
                ok = false;
                problem(k.source(),
                        "unknown key " + quoted(k.str()) + " in [[listen]] (known: address, proxy, tls, redirect)");
            }
        }
        if (!ok) return;
        if (address.empty()) {
            problem(table.source(), "[[listen]] needs an address");
            return;
        }
        apply(setting, "listen", table, address + given);
    }

    // [[tls_certificate]] with cert = "FILE" and key = "FILE": one pair of the tls_cert and tls_key lists each.
    void read_certificates(const toml::node& node) {
        const toml::array* tables = node.as_array();
        if (tables == nullptr || !tables->is_array_of_tables()) {
            wrong_type("tls_certificate", node, "[[tls_certificate]] tables");
            return;
        }
        for (const toml::node& element : *tables) {
            const toml::table& table = *element.as_table();
            const toml::node* cert = table.get("cert");
            const toml::node* key = table.get("key");
            bool ok = true;
            for (auto&& [k, v] : table) {
                if (k.str() != "cert" && k.str() != "key") {
                    ok = false;
                    problem(k.source(),
                            "unknown key " + quoted(k.str()) + " in [[tls_certificate]] (known: cert, key)");
                } else if (!v.is_string()) {
                    ok = false;
                    wrong_type("tls_certificate." + std::string(k.str()), v, "a file name");
                }
            }
            if (!ok) continue;
            if (!cert || !key) {
                problem(table.source(), "[[tls_certificate]] needs both cert and key");
                continue;
            }
            apply(*find_setting_by_key("tls_cert"), "tls_certificate.cert", *cert, cert->as_string()->get());
            apply(*find_setting_by_key("tls_key"), "tls_certificate.key", *key, key->as_string()->get());
        }
    }

    void read_plugins(const toml::node& node) {
        const toml::table* plugins = node.as_table();
        if (plugins == nullptr) {
            if (node.is_array_of_tables())
                problem(node.source(), "plugins: write [plugins.NAME] (one table per instance), not [[plugins]]");
            else
                wrong_type("plugins", node, "[plugins.NAME] tables");
            return;
        }
        for (auto&& [key, value] : *plugins) {
            std::string name(key.str());
            if (!is_plugin_instance_name(name)) {
                problem(key.source(),
                        "plugin instance name " + quoted(name) + " must be letters, digits, '_' and '-' only");
                continue;
            }
            declared_plugins_.push_back(name);
            if (const toml::table* table = value.as_table())
                read_plugin(name, *table);
            else
                wrong_type("plugins." + name, value, "a table ([plugins." + name + "])");
        }
    }

    void read_plugin(const std::string& name, const toml::table& table) {
        const std::size_t before_count = problems_.size();
        const std::string header = "[plugins." + name + "]";
        for (auto&& [key, node] : table) {
            if (!contains(plugin_keys, key.str()))
                problem(key.source(), "unknown key " + quoted(key.str()) + " in " + header +
                                          " (known: file, sha256, config, handler_timeout)");
        }
        PluginInstanceConfig plugin;
        plugin.name = name;
        plugin.origin = where(table.source());
        if (const toml::node* file = table.get("file")) {
            if (auto s = file->as_string()) {
                if (s->get().empty())
                    problem(file->source(), "file: empty; give the path of the shared object");
                else
                    plugin.file = s->get();
            } else {
                wrong_type("file", *file, "a string");
            }
        } else {
            problem(table.source(), header + " needs \"file\", the path of the shared object");
        }
        if (const toml::node* sha = table.get("sha256")) {
            std::string error;
            if (auto s = sha->as_string()) {
                if (!parse_sha256(s->get(), plugin.sha256, error)) problem(sha->source(), "sha256: " + error);
            } else {
                wrong_type("sha256", *sha, "a string");
            }
        }
        if (const toml::node* timeout = table.get("handler_timeout")) {
            std::string error;
            if (auto s = timeout->as_string()) {
                if (!parse_duration(s->get(), plugin.handler_timeout, error))
                    problem(timeout->source(), "handler_timeout: " + error);
            } else if (auto i = timeout->as_integer(); i && i->get() == 0) {
                plugin.handler_timeout = Duration{0};
            } else {
                wrong_type("handler_timeout", *timeout, "a duration (\"30s\", \"500ms\") or 0");
            }
        }
        if (const toml::node* config = table.get("config")) {
            if (const toml::table* values = config->as_table())
                read_plugin_config(*values, plugin.settings);
            else
                wrong_type("config", *config, "a table");
        }
        if (problems_.size() == before_count) out_.server.plugins.push_back(std::move(plugin));
    }

    /** Flattens a `config` table into settings with '.'-joined keys, in file order. */
    void read_plugin_config(const toml::table& config, std::vector<PluginSetting>& out) {
        std::vector<std::pair<toml::source_position, PluginSetting>> found;
        flatten_config(config, "", found);
        std::stable_sort(found.begin(), found.end(),
                         [](const auto& a, const auto& b) { return earlier(a.first, b.first); });
        for (std::size_t i = 0; i < found.size(); ++i) {
            const PluginSetting& setting = found[i].second;
            auto first = std::find_if(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(i),
                                      [&](const auto& f) { return f.second.key == setting.key; });
            if (first != found.begin() + static_cast<std::ptrdiff_t>(i)) {
                problems_.push_back({found[i].first, "config: key " + quoted(setting.key) +
                                                         " is given twice (first at " + first->second.where + ")"});
                continue;
            }
            out.push_back(setting);
        }
    }

    void flatten_config(const toml::table& table, const std::string& prefix,
                        std::vector<std::pair<toml::source_position, PluginSetting>>& found) {
        for (auto&& [key, node] : table) {
            const std::string full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
            const std::string label = "config." + full;
            if (key.str().empty()) {
                problem(key.source(), "config: empty key " + quoted(full));
                continue;
            }
            if (const toml::table* nested = node.as_table()) {
                flatten_config(*nested, full, found);
                continue;
            }
            PluginSetting setting;
            setting.key = full;
            setting.where = where(node.source());
            if (auto s = node.as_string()) {
                setting.type = PluginSetting::Type::string;
                setting.string_value = s->get();
            } else if (auto i = node.as_integer()) {
                setting.type = PluginSetting::Type::integer;
                setting.int_value = i->get();
            } else if (auto b = node.as_boolean()) {
                setting.type = PluginSetting::Type::boolean;
                setting.bool_value = b->get();
            } else if (auto f = node.as_floating_point()) {
                setting.type = PluginSetting::Type::floating;
                setting.double_value = f->get();
            } else if (node.is_array()) {
                problem(node.source(), label + ": arrays are not supported in plugin config yet");
                continue;
            } else {
                problem(node.source(), label + ": " + std::string(type_name(node)) +
                                           " is not supported in plugin config; write it as a string");
                continue;
            }
            found.emplace_back(node.source().begin, std::move(setting));
        }
    }

    void read_routes(const toml::node& node) {
        const toml::array* routes = node.as_array();
        if (routes == nullptr) {
            if (node.is_table())
                problem(node.source(), "route: write [[route]] (one table per route), not [route]");
            else
                wrong_type("route", node, "[[route]] tables");
            return;
        }
        for (const auto& element : *routes) {
            if (auto table = element.as_table())
                read_route(*table);
            else
                wrong_type("route", element, "a table");
        }
    }

    void read_route(const toml::table& table) {
        const std::size_t before = problems_.size();
        const RouteAction* action = nullptr;
        bool several_actions = false;
        for (auto&& [key, node] : table) {
            std::string_view name = key.str();
            bool known = contains(route_match_keys, name) || contains(route_filter_keys, name);
            for (const auto& a : route_actions) {
                if (a.key == name) {
                    known = true;
                    if (action != nullptr) several_actions = true;
                    action = &a;
                }
                if (std::find(a.options.begin(), a.options.end(), name) != a.options.end()) known = true;
            }
            if (!known)
                problem(key.source(),
                        "unknown key " + quoted(name) + " in [[route]] (known: " + route_keys_list() + ")");
        }

        RouteConfig route;
        route.origin = where(table.source());
        const toml::node* path = table.get("path");
        const toml::node* prefix = table.get("prefix");
        if (path != nullptr && prefix != nullptr) {
            problem(table.source(), "route has both \"path\" and \"prefix\"; give one");
        } else if (path == nullptr && prefix == nullptr) {
            problem(table.source(), "route needs \"path\" (exact) or \"prefix\"");
        } else {
            const toml::node& match = path != nullptr ? *path : *prefix;
            std::string_view match_key = path != nullptr ? "path" : "prefix";
            route.prefix = prefix != nullptr;
            if (auto s = match.as_string()) {
                std::string error;
                if (check_route_path(s->get(), error))
                    route.path = s->get();
                else
                    problem(match.source(), std::string(match_key) + ": " + error);
            } else {
                wrong_type(match_key, match, "a string");
            }
        }

        read_route_filters(table, route);

        if (several_actions) {
            std::string names;
            for (const auto& a : route_actions) names += (names.empty() ? "" : ", ") + std::string(a.key);
            problem(table.source(), "route has more than one action; give one of: " + names);
        } else if (action == nullptr) {
            std::string names;
            for (const auto& a : route_actions) names += (names.empty() ? "" : ", ") + std::string(a.key);
            problem(table.source(), "route needs an action: " + names);
        } else {
            // Options of other actions do not apply to this one.
            for (const auto& other : route_actions) {
                if (&other == action) continue;
                for (auto option : other.options) {
                    if (std::find(action->options.begin(), action->options.end(), option) != action->options.end())
                        continue;
                    if (const toml::node* n = table.get(option))
                        problem(n->source(), quoted(option) + " applies to " + std::string(other.key) +
                                                 " routes, not " + std::string(action->key));
                }
            }
            action->build(*this, table, route);
        }
        if (problems_.size() == before) out_.server.routes.push_back(std::move(route));
    }

    /** methods and host, which narrow a route of any kind. */
    void read_route_filters(const toml::table& table, RouteConfig& route) {
        if (const toml::node* methods = table.get("methods")) {
            std::vector<std::string> names;
            bool typed = true;
            if (auto s = methods->as_string()) {
                names.push_back(s->get());
            } else if (auto a = methods->as_array()) {
                for (const auto& element : *a) {
                    if (auto es = element.as_string())
                        names.push_back(es->get());
                    else {
                        wrong_type("methods", element, "a string");
                        typed = false;
                    }
                }
            } else {
                wrong_type("methods", *methods, "an array of method names such as [\"GET\", \"POST\"]");
                typed = false;
            }
            std::string error;
            if (typed && !check_route_methods(names, route.methods, error))
                problem(methods->source(), "methods: " + error);
        }
        if (const toml::node* host = table.get("host")) {
            std::string error;
            if (auto s = host->as_string()) {
                if (!parse_route_host(s->get(), route.host, error)) problem(host->source(), "host: " + error);
            } else {
                wrong_type("host", *host, "a string");
            }
        }
    }

    bool plugin_declared(std::string_view name) const {
        if (std::find(declared_plugins_.begin(), declared_plugins_.end(), name) != declared_plugins_.end()) return true;
        const auto& plugins = out_.server.plugins;
        return std::any_of(plugins.begin(), plugins.end(),
                           [&](const PluginInstanceConfig& p) { return p.name == name; });
    }

    friend bool build_respond(Reader& reader, const toml::table& table, RouteConfig& route);
    friend bool build_plugin(Reader& reader, const toml::table& table, RouteConfig& route);
    friend bool build_static(Reader& reader, const toml::table& table, RouteConfig& route);
    friend bool build_type(Reader& reader, const toml::table& table, RouteConfig& route);
    friend void read_static_options(Reader& reader, const toml::table& table, StaticConfig& out);
    friend void read_static_option(Reader& reader, const static_files::Option& opt, const toml::node& node,
                                   StaticConfig& out);

    const std::string& source_;
    Options& out_;
    std::vector<Problem> problems_;
    /** Names of the [plugins.NAME] tables, valid or not, so routes naming them get no second error. */
    std::vector<std::string> declared_plugins_;
};

bool build_respond(Reader& reader, const toml::table& table, RouteConfig& route) {
    const std::size_t before = reader.problems_.size();
    route.kind = RouteKind::respond;
    const toml::node& body = *table.get("respond");
    if (auto s = body.as_string())
        route.body = s->get();
    else
        reader.wrong_type("respond", body, "a string");

    if (const toml::node* status = table.get("status")) {
        if (auto i = status->as_integer()) {
            std::int64_t code = i->get();
            if (code < 200 || code > 599) {
                reader.problem(status->source(), "status: must be from 200 to 599, not " + std::to_string(code));
            } else {
                route.status = static_cast<std::uint16_t>(code);
                if ((code == 204 || code == 304) && !route.body.empty())
                    reader.problem(status->source(),
                                   "status: a " + std::to_string(code) + " response has no body; set respond = \"\"");
            }
        } else {
            reader.wrong_type("status", *status, "an integer");
        }
    }

    if (const toml::node* type = table.get("content_type")) {
        if (auto s = type->as_string()) {
            if (is_header_value(s->get()))
                route.content_type = s->get();
            else
                reader.problem(type->source(), "content_type: " + quoted(s->get()) +
                                                   " is not a valid header value (visible ASCII and inner spaces)");
        } else {
            reader.wrong_type("content_type", *type, "a string");
        }
    }
    return reader.problems_.size() == before;
}

bool build_plugin(Reader& reader, const toml::table& table, RouteConfig& route) {
    const std::size_t before_count = reader.problems_.size();
    route.kind = RouteKind::plugin;
    const toml::node& name = *table.get("plugin");
    if (auto s = name.as_string()) {
        if (reader.plugin_declared(s->get())) {
            route.plugin = s->get();
        } else {
            std::string message = "plugin: unknown plugin instance " + quoted(s->get());
            if (is_plugin_instance_name(s->get())) message += " (define it with [plugins." + s->get() + "])";
            reader.problem(name.source(), std::move(message));
        }
    } else {
        reader.wrong_type("plugin", name, "the name of a plugin instance ([plugins.NAME])");
    }
    return reader.problems_.size() == before_count;
}

// `type = "metrics"` or `type = "health"`: a route brisk answers itself.
bool build_type(Reader& reader, const toml::table& table, RouteConfig& route) {
    const toml::node& type = *table.get("type");
    auto s = type.as_string();
    if (s && s->get() == "metrics")
        route.kind = RouteKind::metrics;
    else if (s && s->get() == "health")
        route.kind = RouteKind::health;
    else if (s)
        reader.problem(type.source(),
                       "type: unknown route type " + quoted(s->get()) + " (use \"metrics\" or \"health\")");
    else
        reader.wrong_type("type", type, "\"metrics\" or \"health\"");
    return s && (route.kind == RouteKind::metrics || route.kind == RouteKind::health);
}

// One option of a static route, by its descriptor (brisk/static_options.hpp).
void read_static_option(Reader& reader, const static_files::Option& opt, const toml::node& node, StaticConfig& out) {
    using static_files::OptionKind;
    const std::string key(opt.key);
    std::string error;
    auto checked = [&](std::string_view value) {
        if (opt.check(value, error)) return true;
        reader.problem(node.source(), key + ": " + error);
        return false;
    };
    switch (opt.kind) {
    case OptionKind::flag:
        if (auto b = node.as_boolean())
            out.*opt.flag = b->get();
        else
            reader.wrong_type(key, node, opt.expected);
        return;
    case OptionKind::level:
        if (auto i = node.as_integer(); !i)
            reader.wrong_type(key, node, opt.expected);
        else if (i->get() < opt.min || i->get() > opt.max)
            reader.problem(node.source(), key + ": must be from " + std::to_string(opt.min) + " to " +
                                              std::to_string(opt.max) + ", not " + std::to_string(i->get()));
        else
            out.*opt.level = static_cast<int>(i->get());
        return;
    case OptionKind::size:
        if (auto s = node.as_string()) {
            if (!parse_size(s->get(), out.*opt.size, error)) reader.problem(node.source(), key + ": " + error);
        } else if (auto i = node.as_integer(); i && i->get() >= 0) {
            out.*opt.size = static_cast<std::uint64_t>(i->get());
        } else {
            reader.wrong_type(key, node, opt.expected);
        }
        return;
    case OptionKind::duration:
        if (auto s = node.as_string()) {
            if (!parse_duration(s->get(), out.*opt.duration, error)) reader.problem(node.source(), key + ": " + error);
        } else if (auto i = node.as_integer(); i && i->get() == 0) {
            out.*opt.duration = Duration{0};
        } else {
            reader.wrong_type(key, node, opt.expected);
        }
        return;
    case OptionKind::text:
        if (auto s = node.as_string()) {
            if (checked(s->get())) out.*opt.text = s->get();
        } else {
            reader.wrong_type(key, node, opt.expected);
        }
        return;
    case OptionKind::names: {
        std::vector<std::string>& list = out.*opt.names;
        list.clear();
        if (auto s = node.as_string()) {
            if (checked(s->get())) list.push_back(s->get());
            return;
        }
        const toml::array* a = node.as_array();
        if (!a) {
            reader.wrong_type(key, node, opt.expected);
            return;
        }
        for (const auto& element : *a) {
            if (auto es = element.as_string()) {
                if (checked(es->get())) list.push_back(es->get());
            } else {
                reader.wrong_type(key, element, "a string");
            }
        }
        return;
    }
    case OptionKind::table: {
        const toml::table* entries = node.as_table();
        if (!entries) {
            reader.wrong_type(key, node, opt.expected);
            return;
        }
        for (auto&& [name, value] : *entries) {
            std::string stored;
            if (!opt.entry_name(name.str(), stored, error))
                reader.problem(name.source(), key + ": " + error);
            else if (auto v = value.as_string(); !v)
                reader.wrong_type(key + "." + stored, value, "a string");
            else if (!opt.add(out, stored, v->get(), error))
                reader.problem(value.source(), key + ": " + error);
        }
        return;
    }
    }
}

void read_static_options(Reader& reader, const toml::table& table, StaticConfig& out) {
    for (auto&& [key, node] : table) {
        if (const static_files::Option* opt = static_files::find_route_option(key.str())) {
            read_static_option(reader, *opt, node, out);
            continue;
        }
        std::string known;
        for (const auto& o : static_files::route_options()) known += (known.empty() ? "" : ", ") + std::string(o.key);
        reader.problem(key.source(), "unknown key " + quoted(key.str()) + " in static (known: " + known + ")");
    }
}

bool build_static(Reader& reader, const toml::table& table, RouteConfig& route) {
    const std::size_t before = reader.problems_.size();
    route.kind = RouteKind::static_files;
    const toml::node& node = *table.get("static");
    if (const toml::node* path = table.get("path"))
        reader.problem(path->source(), "static: a static route serves a folder; give \"prefix\", not \"path\"");
    std::string error;
    if (auto s = node.as_string()) {
        if (check_static_root(s->get(), error))
            route.static_files.root = s->get();
        else
            reader.problem(node.source(), "static: " + error);
    } else if (const toml::table* options = node.as_table()) {
        read_static_options(reader, *options, route.static_files);
        if (!options->get("root")) reader.problem(node.source(), "static: needs root, the directory to serve");
    } else {
        reader.wrong_type("static", node, "a directory, or a table such as { root = \"DIR\" }");
    }
    return reader.problems_.size() == before;
}

}  // namespace

bool apply_toml(std::string_view text, const std::string& source, Options& out, std::vector<std::string>& errors) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        errors.push_back(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                         one_line(e.description()));
        return false;
    }
    Reader reader(source, out);
    reader.read_root(root);
    return reader.finish(errors);
}

bool load_config_file(const std::string& path, Options& out, std::vector<std::string>& errors) {
    auto fail = [&](int err) {
        errors.push_back("cannot read config file " + quoted(path) + ": " + std::strerror(err));
        return false;
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) return fail(errno);
    std::string text;
    char buffer[16384];
    for (;;) {
        std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
        text.append(buffer, n);
        if (n < sizeof buffer) break;
    }
    if (std::ferror(file.get())) return fail(errno);
    return apply_toml(text, path, out, errors);
}

}  // namespace brisk::cli
