// brisk — the Date header, formatted once a second per loop.
#pragma once

#include <ctime>
#include <string_view>

namespace brisk::http {

class DateCache {
public:
    /** "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for the second `now`. */
    std::string_view line(std::time_t now) noexcept {
        if (now != second_) render(now);
        return {buf_, kLen};
    }

private:
    static constexpr std::size_t kLen = 37;
    void render(std::time_t now) noexcept;
    std::time_t second_ = -1;
    char buf_[kLen + 1] = {};
};

}  // namespace brisk::http
