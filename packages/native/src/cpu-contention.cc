// RunnableExceedsCores (cpu-contention.h): the run-queue length of /proc/loadavg against the
// online cores. Windows has no such figure to read cheaply.
#include "cpu-contention.h"

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <cstring>

namespace fastpath {

#ifdef _WIN32
// Windows has no instantaneous run-queue length to read cheaply: never contended (adaptive mode
// polls for its window as on a Linux without /proc/loadavg).
bool RunnableExceedsCores() {
  return false;
}
#else
bool RunnableExceedsCores() {
  static const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* slash = strchr(buf, '/');
  if (slash == nullptr) return false;
  const char* p = slash;
  while (p > buf && p[-1] >= '0' && p[-1] <= '9') --p;
  if (p == slash) return false;
  long running = strtol(p, nullptr, 10);
  return cores > 0 && running > cores + 1;
}
#endif

}  // namespace fastpath
