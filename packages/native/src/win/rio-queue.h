// The Registered I/O bookkeeping, behind a seam: every RIO call goes through RioFns, a plain table
// of function pointers. Production fills it from the table WSAID_MULTIPLE_RIO returns; the unit
// tests (test/rio-queue-test.cc, run under Wine) and the addon's test hook fill it with the fake
// stack of rio-fake.h, and check the pool, the request contexts, the send/receive accounting and
// the completion dispatch without a RIO-capable stack.
//
//   RioBufferPool      a few large registered buffers (VirtualAlloc'd), cut into equal slices;
//                      grows by one buffer at a time up to a cap
//   RioSocketQueue     one socket's request queue: keeps `maxReceives` receives posted while
//                      reading (holds completed receives while paused), splits sends into slices
//                      within `maxSends` outstanding and queues the rest, and turns each RIORESULT
//                      back into "bytes received", "send done", "end of stream" or "error"
//   RioPollCompletions dequeues a completion queue in bounded batches (see rio-engine.h)
#pragma once
#ifdef _WIN32

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "rio-abi.h"

namespace fastpath {
namespace win {
namespace rio {

struct RioFns {
  PRIOREGISTERBUFFER registerBuffer = nullptr;
  PRIODEREGISTERBUFFER deregisterBuffer = nullptr;
  PRIOCREATECOMPLETIONQUEUE createCompletionQueue = nullptr;
  PRIOCLOSECOMPLETIONQUEUE closeCompletionQueue = nullptr;
  PRIOCREATEREQUESTQUEUE createRequestQueue = nullptr;
  PRIORECEIVE receive = nullptr;
  PRIOSEND send = nullptr;
  PRIODEQUEUECOMPLETION dequeueCompletion = nullptr;
  PRIONOTIFY notify = nullptr;
  // Not RIO functions, but socket operations whose effect a fake stack must see: the FIN after the
  // last send (real: shutdown(s, SD_SEND)), and "the socket is being closed" (real: nothing; the
  // closesocket that follows completes the outstanding requests with an error).
  int(PASCAL* shutdownSend)(SOCKET) = nullptr;
  void(PASCAL* socketClosing)(SOCKET) = nullptr;
  bool complete() const;
};

// The table from WSAID_MULTIPLE_RIO, with the real shutdownSend.
RioFns FromTable(const RIO_EXTENSION_FUNCTION_TABLE& t);

class RioBufferPool {
 public:
  RioBufferPool() = default;
  ~RioBufferPool();
  RioBufferPool(const RioBufferPool&) = delete;
  RioBufferPool& operator=(const RioBufferPool&) = delete;

  // `buffers` registered buffers of `bufferBytes` each (rounded up to a whole number of slices).
  bool Init(const RioFns& fns, uint32_t buffers, uint32_t bufferBytes, uint32_t sliceBytes, std::string* err);
  // Registers one more buffer of the same size; its slices join the free list.
  bool Grow(std::string* err);
  // A free slice, or false when all are in use. `index` names it for Release and Data.
  bool Acquire(uint32_t* index);
  void Release(uint32_t index);
  RIO_BUF Buf(uint32_t index, uint32_t length) const;
  uint8_t* Data(uint32_t index) const;
  uint32_t sliceBytes() const { return sliceBytes_; }
  uint32_t slicesPerBuffer() const { return slicesPerBuffer_; }
  uint32_t buffers() const { return static_cast<uint32_t>(ids_.size()); }
  uint32_t slices() const { return static_cast<uint32_t>(inUse_.size()); }
  uint32_t freeSlices() const { return static_cast<uint32_t>(free_.size()); }
  void Destroy();

 private:
  bool AddBuffer(std::string* err);
  RioFns fns_;
  std::vector<uint8_t*> memory_;
  std::vector<RIO_BUFFERID> ids_;
  uint32_t slicesPerBuffer_ = 0;
  uint32_t sliceBytes_ = 0;
  std::vector<uint32_t> free_;
  std::vector<uint8_t> inUse_;
};

// What a completion meant, for the owner of the socket. Called from RioSocketQueue::Complete.
class RioEvents {
 public:
  virtual ~RioEvents() = default;
  virtual void OnReceived(const uint8_t* data, uint32_t n) = 0;
  // A send completed; queuedBytes() and idle() tell whether the queue drained.
  virtual void OnSent(uint32_t n) = 0;
  virtual void OnEnd() = 0;
  virtual void OnError(const std::string& why) = 0;
};

class RioSocketQueue {
 public:
  // Request contexts carry (slice << 1) | kind.
  enum Kind : uint64_t { kReceive = 0, kSend = 1 };

  // Creates the request queue. Receives are posted once reading is switched on (SetPaused(false)).
  bool Open(const RioFns& fns, RioBufferPool* pool, SOCKET s, RIO_CQ cq, uint32_t maxReceives, uint32_t maxSends, std::string* err);
  void SetEvents(RioEvents* ev) { events_ = ev; }
  // Paused: no receive is posted, and completed receives are held (in their slices) until resumed.
  // Resuming delivers the held ones first, in order. False (with err) when a post failed.
  bool SetPaused(bool paused, std::string* err);
  bool paused() const { return paused_; }
  // Posts receives until maxReceives are outstanding (or the pool runs dry). False on a failed post.
  bool FillReceives(std::string* err);
  // Copies as much of p[0..n) as free slices and send slots allow into slices and posts them.
  // Returns the bytes taken (the caller keeps the rest), or -1 on a failed post.
  int64_t Send(const uint8_t* p, size_t n, std::string* err);
  // Send() plus a queue: what cannot be posted now is copied and posted, in order, as sends
  // complete. Returns the bytes still queued (not yet posted), or -1 on a failed post.
  int64_t Write(const uint8_t* p, size_t n, std::string* err);
  // Posts what the queue holds as far as slots and slices allow. False on a failed post.
  bool Flush(std::string* err);
  // Handles one completion of this socket. Receives are re-posted after delivery.
  void Complete(const RIORESULT& r);
  // The socket is going away: no more events; outstanding requests still complete (with an error
  // once the socket is closed) and give their slices back.
  void Detach();
  // Marks the queue failed and reports `why` (once per call) through OnError.
  void Fail(const std::string& why);
  uint32_t receivesPosted() const { return receives_; }
  uint32_t sendsPosted() const { return sends_; }
  uint32_t maxReceives() const { return maxReceives_; }
  uint64_t bytesInFlight() const { return sendBytes_; }
  uint64_t queuedBytes() const { return queued_.size(); }
  size_t heldReceives() const { return held_.size(); }
  uint32_t outstanding() const { return receives_ + sends_; }
  bool idle() const { return sends_ == 0 && queued_.empty(); }
  bool ended() const { return ended_; }
  bool detached() const { return detached_; }
  bool failed() const { return failed_; }
  SOCKET socket() const { return socket_; }
  RIO_RQ rq() const { return rq_; }

 private:
  struct Held {
    uint32_t slice;
    uint32_t n;
  };
  bool PostSend(uint32_t slice, uint32_t offset, uint32_t len, std::string* err);
  void Deliver(uint32_t slice, uint32_t n);
  RioFns fns_;
  RioBufferPool* pool_ = nullptr;
  RioEvents* events_ = nullptr;
  SOCKET socket_ = INVALID_SOCKET;
  RIO_RQ rq_ = kInvalidRq;
  uint32_t maxReceives_ = 0, maxSends_ = 0;
  uint32_t receives_ = 0, sends_ = 0;
  uint64_t sendBytes_ = 0;
  std::deque<uint8_t> queued_;
  std::deque<Held> held_;
  std::vector<uint32_t> sendLen_;  // by slice: the length of the send posted from it
  bool ended_ = false, paused_ = true, detached_ = false, failed_ = false;
};

// Dequeues up to `max` completions (in batches of at most 64) and hands each to its socket queue
// (SocketContext is the RioSocketQueue*). Returns the count, or -1 for RIO_CORRUPT_CQ.
int RioPollCompletions(const RioFns& fns, RIO_CQ cq, uint32_t max);

}  // namespace rio
}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
