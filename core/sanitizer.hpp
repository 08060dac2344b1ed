// brisk — BRISK_ASAN is 1 in AddressSanitizer builds, BRISK_TSAN in
// ThreadSanitizer builds, with either compiler: gcc defines
// __SANITIZE_ADDRESS__ and __SANITIZE_THREAD__, clang before 16 only answers
// __has_feature.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define BRISK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BRISK_ASAN 1
#endif
#endif
#ifndef BRISK_ASAN
#define BRISK_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define BRISK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BRISK_TSAN 1
#endif
#endif
#ifndef BRISK_TSAN
#define BRISK_TSAN 0
#endif
