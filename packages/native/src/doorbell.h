// Doorbells: one named FIFO per side in a private 0700 directory. Side s sleeps on FIFO s (the
// event loop watches its fd with uv_poll); the peer wakes it by writing one byte to FIFO s.
//
// On Windows (win/doorbell-win.cc) a doorbell is a named auto-reset Event ("Local\<dir>-0" and
// "-1", owner and DACL the current user only), `dir` is "fastpath-bell-<8 hex pid>-<24 hex>", and
// the loop is woken through a uv_async that a thread-pool wait (RegisterWaitForSingleObject) sends:
// libuv cannot watch an Event handle itself.
//
// Why FIFOs: an unrelated process cannot open another's eventfd without fd passing, and a FIFO
// opened O_RDWR|O_NONBLOCK by both sides never blocks, never gets ENXIO/EPIPE and needs no extra
// socket. Wake-up cost is the same as an eventfd (one write, one epoll wake-up).
#pragma once

#include <string>

#ifdef _WIN32
#include <uv.h>
#endif

#include "os-error.h"

namespace fastpath {

class Doorbells {
 public:
  Doorbells() = default;
  ~Doorbells();
  Doorbells(const Doorbells&) = delete;
  Doorbells& operator=(const Doorbells&) = delete;

  // Side 0: mkdtemp(base/fastpath-shm-XXXXXX) (mode 0700), two FIFOs (mode 0600), opens both.
  bool Create(const std::string& base, OsError* err);
  // Side 1: checks the directory and FIFOs (owner, mode, type), opens both.
  bool Open(const std::string& dir, OsError* err);
  // Removes both FIFOs and the directory (idempotent; open fds stay valid).
  void Unlink();
  void Close();

  const std::string& dir() const { return dir_; }
#ifdef _WIN32
  // Sends `async` each time doorbell `side` is rung, from a thread-pool thread.
  bool Watch(int side, uv_async_t* async, OsError* err);
  // Stops that, waiting for a callback in flight to finish. Idempotent.
  void Unwatch();
#else
  int fd(int side) const { return fd_[side]; }
#endif
  // Wakes side `side`. A full FIFO means it is already rung: EAGAIN is ignored.
  void Ring(int side) const;
  // Empties FIFO `side` (bounded), so that the next sleep waits for a new ring.
  void Drain(int side) const;

 private:
  std::string dir_;
  bool unlinked_ = true;
#ifdef _WIN32
  void* ev_[2] = {nullptr, nullptr};
  void* wait_ = nullptr;
#else
  int fd_[2] = {-1, -1};
#endif
};

// A doorbell directory path as fastpath makes them: absolute, ending in "/fastpath-shm-" + 6 chars.
// Windows: "fastpath-bell-" + 8 hex + "-" + 24 hex.
bool ValidDoorbellDir(const std::string& dir);

}  // namespace fastpath
