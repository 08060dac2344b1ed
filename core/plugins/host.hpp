// brisk — the plugin host: loads plugin files, creates their instances, and
// serves them brisk's side of the ABI (core/include/brisk/plugin_abi.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "brisk/config.hpp"
#include "brisk/plugin_abi.h"
#include "server/handler.hpp"

namespace brisk {

/** One plugin instance ([plugins.NAME]) as a route handler. */
class PluginInstance final : public Handler {
public:
    PluginInstance(std::string name, std::string file, const brisk_plugin_descriptor* desc, void* instance,
                   std::int64_t handler_timeout_ms = 0);
    ~PluginInstance() override;
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    Outcome handle(HandlerCall& call) override;
    bool blocking() const noexcept override { return (desc_->capabilities & BRISK_CAP_BLOCKING) != 0; }
    bool streams_body() const noexcept override { return (desc_->capabilities & BRISK_CAP_BODY_STREAM) != 0; }
    void loop_init(unsigned loop_index) override;
    void loop_fini(unsigned loop_index) noexcept override;
    void loop_stopping(unsigned loop_index) noexcept override;

    const std::string& name() const noexcept { return name_; }
    /** How long a suspended request may wait for its answer (handler_timeout); 0: no limit. */
    std::int64_t handler_timeout_ms() const noexcept { return handler_timeout_ms_; }

private:
    std::string name_;
    std::string file_;
    const brisk_plugin_descriptor* desc_;
    void* instance_;
    std::int64_t handler_timeout_ms_;
};

/**
 * Every plugin instance of a configuration. Construction loads the files and
 * creates the instances on the calling (main) thread; it throws brisk::Error
 * with one line naming the instance and file on the first failure. Loaded
 * files are never unloaded: code in them may run until the process exits.
 */
class PluginSet {
public:
    explicit PluginSet(const Config& config);
    ~PluginSet();
    PluginSet(const PluginSet&) = delete;
    PluginSet& operator=(const PluginSet&) = delete;

    /** The instance named `name`, or nullptr. */
    PluginInstance* find(const std::string& name) const noexcept;

    /** One line per instance: 'plugin "x": hello 1.0.0 from ./libhello.so'. */
    const std::vector<std::string>& summaries() const noexcept { return summaries_; }

private:
    std::vector<std::string> summaries_;
    std::vector<std::unique_ptr<PluginInstance>> instances_;
};

/** The host function table handed to every plugin. */
const brisk_host_api& plugin_host_api() noexcept;

}  // namespace brisk
