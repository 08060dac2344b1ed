// brisk — threads for handlers that may block. A loop hands a request over
// and goes on serving other connections; the connection waits (reading
// nothing, so pipelined requests stay in order) until the answer comes back
// to its loop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace brisk {

class BlockingPool {
public:
    BlockingPool(unsigned threads, std::size_t queue_limit);
    ~BlockingPool();  // runs what is queued, then joins
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    /** Queues `job`; false when the queue is full (the caller answers 503). */
    bool submit(std::function<void()> job);

private:
    void run();
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    std::size_t limit_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace brisk
