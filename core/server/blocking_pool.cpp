#include "server/blocking_pool.hpp"

#include <pthread.h>

#include <string>

namespace brisk {

BlockingPool::BlockingPool(unsigned threads, std::size_t queue_limit) : limit_(queue_limit) {
    for (unsigned i = 0; i < threads; ++i) {
        threads_.emplace_back([this, i] {
            std::string name = "brisk-block-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
            run();
        });
    }
}

BlockingPool::~BlockingPool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) t.join();
}

bool BlockingPool::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= limit_) return false;
        queue_.push_back(std::move(job));
    }
    ready_.notify_one();
    return true;
}

void BlockingPool::run() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, nothing left
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job();
    }
}

}  // namespace brisk
