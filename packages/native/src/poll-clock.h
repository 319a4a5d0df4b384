// The clock and CPU hints of a channel's polling (shm-channel-step.cc, shm-channel-spin.cc):
// NowNanos and NowMicros (monotonic), CpuRelax (the busy-wait hint) and, on Windows, a
// sched_yield that gives up the rest of the time slice.
#pragma once

#ifdef _WIN32
#include <windows.h>
#else
#include <sched.h>
#include <time.h>
#endif

#include <cstdint>

namespace fastpath {

#ifdef _WIN32
inline uint64_t NowNanos() {
  static const uint64_t freq = [] {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return static_cast<uint64_t>(f.QuadPart);
  }();
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  uint64_t t = static_cast<uint64_t>(c.QuadPart);
  return t / freq * 1000000000u + t % freq * 1000000000u / freq;
}

inline int sched_yield() {
  SwitchToThread();
  return 0;
}
#else
inline uint64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
#endif

inline uint64_t NowMicros() {
  return NowNanos() / 1000u;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace fastpath
