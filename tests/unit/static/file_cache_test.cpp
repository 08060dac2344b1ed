#include "static/file_cache.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace brisk::files;

namespace {

Entry* make(std::string key, std::size_t charge = 0) {
    auto* e = new Entry;
    e->key = std::move(key);
    e->charge = charge;
    return e;
}

}  // namespace

TEST_CASE("find, insert, replace, erase", "[static][cache]") {
    FileCache c(8, 1 << 20);
    CHECK(c.find("/a") == nullptr);
    Entry* a = make("/a");
    c.insert(a);
    CHECK(c.find("/a") == a);
    CHECK(c.size() == 1);
    Entry* a2 = make("/a");
    c.insert(a2);  // replaces
    CHECK(c.find("/a") == a2);
    CHECK(c.size() == 1);
    c.erase(a2);
    CHECK(c.find("/a") == nullptr);
    CHECK(c.size() == 0);
}

TEST_CASE("least recently used entries are evicted by count and bytes", "[static][cache]") {
    FileCache c(3, 1000);
    Entry* a = make("/a");
    Entry* b = make("/b");
    c.insert(a);
    c.insert(b);
    c.insert(make("/c"));
    REQUIRE(c.find("/a") == a);  // a is now the most recent
    c.insert(make("/d"));        // evicts b
    CHECK(c.find("/b") == nullptr);
    CHECK(c.find("/a") == a);
    CHECK(c.size() == 3);

    c.insert(make("/big", 900));  // over the byte budget: the oldest go
    CHECK(c.bytes() <= 1000);
    CHECK(c.find("/big") != nullptr);
    Entry* big = c.find("/big");
    c.charge(big, 500);  // alone over budget: kept, everything else is evicted
    CHECK(c.size() == 1);
    CHECK(c.find("/big") == big);
}

TEST_CASE("an entry borrowed by a response outlives its eviction", "[static][cache]") {
    FileCache c(1, 1 << 20);
    Entry* a = make("/a");
    a->rep[0].data = "bytes";
    c.insert(a);
    a->ref();              // a reply piece
    c.insert(make("/b"));  // evicts a
    CHECK(c.find("/a") == nullptr);
    CHECK(a->refs == 1);
    CHECK(a->rep[0].data == "bytes");  // still valid
    Entry::release(a);                 // the piece is sent: freed (ASan checks)
}

TEST_CASE("many keys hash apart", "[static][cache]") {
    FileCache c(4096, 1 << 30);
    for (int i = 0; i < 3000; ++i) c.insert(make("/file" + std::to_string(i)));
    for (int i = 0; i < 3000; ++i) {
        Entry* e = c.find("/file" + std::to_string(i));
        REQUIRE(e != nullptr);
        CHECK(e->key == "/file" + std::to_string(i));
    }
}
