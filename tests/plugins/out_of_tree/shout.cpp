// A plugin built outside brisk's tree against an installed brisk
// (tests/plugins/out_of_tree_test.sh): answers "<greeting> <path>!".
#include <brisk/plugin.hpp>

#include <string>

namespace {

class Shout {
public:
    explicit Shout(brisk::PluginConfig& cfg) : greeting_(cfg.string("greeting").value_or("HEY")) {}

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        res.content_type("text/plain").write(greeting_).write(" ").write(req.path()).write("!");
        return brisk::Result::done;
    }

private:
    std::string greeting_;
};

}  // namespace

BRISK_PLUGIN(Shout, "shout", "0.0.1")
