#include "server/worker.hpp"

#include <catch2/catch.hpp>

using brisk::Worker;
using brisk::WorkerPool;

TEST_CASE("the pool hands out the most recently released worker first", "[worker]") {
    WorkerPool pool;
    Worker* a = pool.acquire();
    Worker* b = pool.acquire();
    CHECK(pool.total() == 2);
    pool.release(a, 1000);
    pool.release(b, 2000);
    CHECK(pool.acquire() == b);
    CHECK(pool.acquire() == a);
    pool.release(a, 3000);
    pool.release(b, 3000);
}

TEST_CASE("idle workers are reaped oldest first", "[worker]") {
    WorkerPool pool;
    Worker* a = pool.acquire();
    Worker* b = pool.acquire();
    Worker* c = pool.acquire();
    pool.release(a, 1000);
    pool.release(b, 5000);
    pool.release(c, 9000);
    CHECK(pool.reap(10000, 4000) == 2);  // a (9 s idle) and b (5 s) go, c (1 s) stays
    CHECK(pool.total() == 1);
    CHECK(pool.idle() == 1);
    CHECK(pool.acquire() == c);
    pool.release(c, 10000);
    CHECK(pool.reap(10000, 4000) == 0);
}

TEST_CASE("released workers are reset and oversized buffers cut back", "[worker]") {
    WorkerPool pool;
    Worker* w = pool.acquire();
    w->in.reserve(1 << 20);
    w->out.append("pending");
    w->start = 3;
    w->end = 10;
    pool.release(w, 0);
    Worker* again = pool.acquire();
    REQUIRE(again == w);
    CHECK(again->in.capacity() <= WorkerPool::kKeepBuffer);
    CHECK(again->out.len == 0);
    CHECK_FALSE(again->has_input());
    pool.release(again, 0);
}
