// The RIO data path minus the event loop: one completion queue, one buffer pool and the request
// queues of the sockets that use them. Still behind the RioFns seam, so the unit tests drive it
// with the fake stack (rio-fake.h); rio-loop.cc drives it from libuv.
//
// Admission: each socket reserves (receives + sends) slices, so that an idle connection holding
// posted receives can never starve another. When the pool cannot cover a new socket it grows by
// one registered buffer, up to maxBuffers; past that the socket is refused (its owner then uses
// IOCP for it, and says why). The completion queue is sized for every slice of the largest pool,
// because each outstanding request holds one slice: it cannot overflow.
#pragma once
#ifdef _WIN32

#include <string>
#include <vector>

#include "rio-queue.h"

namespace fastpath {
namespace win {
namespace rio {

struct RioEngineConfig {
  uint32_t initialBuffers = 2;
  uint32_t maxBuffers = 8;
  uint32_t bufferBytes = 1u << 20;
  uint32_t sliceBytes = 16u << 10;
  uint32_t receivesPerSocket = 2;
  uint32_t sendsPerSocket = 4;
};

class RioEngine {
 public:
  RioEngine() = default;
  ~RioEngine();
  RioEngine(const RioEngine&) = delete;
  RioEngine& operator=(const RioEngine&) = delete;

  // `notification` is null for a polled queue, or an event/IOCP notification for RIONotify.
  bool Init(const RioFns& fns, const RioEngineConfig& cfg, RIO_NOTIFICATION_COMPLETION* notification, std::string* err);
  // Creates the socket's request queue (paused: no receive posted yet), or returns null with the
  // reason: the pool is at its cap, the completion queue is corrupt, or a RIO call failed.
  RioSocketQueue* Open(SOCKET s, RioEvents* ev, std::string* why);
  // The owner is done with the queue: no more events. The stack is told the socket is closing; the
  // queue is freed (and its reservation returned) once its outstanding requests have completed.
  void Close(RioSocketQueue* q);
  // Dispatches up to `max` completions, then re-posts receives and queued sends that waited for a
  // slice, then frees closed queues. Returns the completions handled, or -1 when the completion
  // queue is corrupt (RIO_CORRUPT_CQ): every open queue has then had OnError, and Open refuses.
  int Poll(uint32_t max);
  // RIONotify: 0, or the error it returned (WSAEALREADY when already armed).
  int Arm();
  uint32_t queues() const { return static_cast<uint32_t>(queues_.size()); }  // including closing ones
  uint32_t openQueues() const;      // not closed by their owner
  uint32_t activeQueues() const;    // open, and reading or with sends in flight or queued
  uint32_t cqSize() const { return cqSize_; }
  bool corrupt() const { return corrupt_; }
  const RioBufferPool& pool() const { return pool_; }
  void Destroy();

 private:
  void Reap();
  RioFns fns_;
  RioEngineConfig cfg_;
  RioBufferPool pool_;
  RIO_CQ cq_ = kInvalidCq;
  uint32_t cqSize_ = 0;
  uint32_t reserved_ = 0;
  std::vector<RioSocketQueue*> queues_;
  bool corrupt_ = false;
  int polling_ = 0;
};

}  // namespace rio
}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
