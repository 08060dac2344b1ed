#include "http/date_cache.hpp"

#include <cstring>

namespace brisk::http {
namespace {

char* two(char* p, int v) noexcept {
    p[0] = static_cast<char>('0' + v / 10 % 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
}

}  // namespace

// IMF-fixdate (RFC 9110 5.6.7): "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n".
void DateCache::render(std::time_t now) noexcept {
    static constexpr char kDays[] = "SunMonTueWedThuFriSat";
    static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    std::tm tm{};
    gmtime_r(&now, &tm);
    char* p = buf_;
    std::memcpy(p, "Date: ", 6);
    p += 6;
    std::memcpy(p, kDays + 3 * tm.tm_wday, 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = two(p, tm.tm_mday);
    *p++ = ' ';
    std::memcpy(p, kMonths + 3 * tm.tm_mon, 3);
    p += 3;
    *p++ = ' ';
    int year = tm.tm_year + 1900;
    p = two(p, year / 100);
    p = two(p, year % 100);
    *p++ = ' ';
    p = two(p, tm.tm_hour);
    *p++ = ':';
    p = two(p, tm.tm_min);
    *p++ = ':';
    p = two(p, tm.tm_sec);
    std::memcpy(p, " GMT\r\n", 6);
    second_ = now;
}

}  // namespace brisk::http
