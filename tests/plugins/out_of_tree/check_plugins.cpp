// Loads plugins built against an installed brisk with the installed fake host
// (plugin_testing.hpp) and checks their answers. Built by out_of_tree_test.sh
// with the flags of `pkg-config --cflags brisk-plugin`.
//   check_plugins SHOUT.so GREET.so
#include <brisk/plugin_testing.hpp>

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "check_plugins: FAILED: %s\n", what.c_str());
        ++failures;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: check_plugins SHOUT.so GREET.so\n");
        return 2;
    }
    using brisk::testing::FakeConfig;
    using brisk::testing::FakeHost;
    using brisk::testing::FakeRequest;
    FakeHost host;

    const brisk_plugin_descriptor* shout = host.load(std::string(argv[1]));
    expect(shout != nullptr, "load " + std::string(argv[1]) + ": " + host.error());
    if (shout != nullptr) {
        auto instance = host.create(shout, FakeConfig().string("greeting", "HELLO"));
        expect(static_cast<bool>(instance), "create shout: " + instance.error());
        if (instance) {
            const auto res = instance.handle(FakeRequest("GET", "/there?x=1"));
            expect(res.result == BRISK_DONE, "shout: result");
            expect(res.body == "HELLO /there!", "shout: body '" + res.body + "'");
        }
    }

    const brisk_plugin_descriptor* greet = host.load(std::string(argv[2]));
    expect(greet != nullptr, "load " + std::string(argv[2]) + ": " + host.error());
    if (greet != nullptr) {
        auto instance = host.create(greet);
        expect(static_cast<bool>(instance), "create greet: " + instance.error());
        if (instance) {
            const auto res = instance.handle(FakeRequest("GET", "/?name=Ada"));
            expect(res.body == "Hello, Ada! You are visitor 1.\n", "greet: body '" + res.body + "'");
        }
    }

    if (failures == 0) std::printf("check_plugins: ok\n");
    return failures == 0 ? 0 : 1;
}
