// The Registered I/O bookkeeping, behind a seam: every RIO call goes through RioFns, a plain table
// of function pointers. Production fills it from the table WSAID_MULTIPLE_RIO returns; the unit
// tests (rio-queue-test.cc, run under Wine) fill it with fakes and check the pool, the request
// contexts, the send/receive accounting and the completion dispatch without a RIO-capable stack.
//
//   RioBufferPool      a few large registered buffers (VirtualAlloc'd), cut into equal slices
//   RioSocketQueue     one socket's request queue: keeps `maxReceives` receives posted, splits
//                      sends into slices within `maxSends` outstanding, and turns each RIORESULT
//                      back into "bytes received", "send done", "end of stream" or "error"
//   RioPollCompletions dequeues a completion queue in bounded batches (the inline mode's poll);
//                      RIONotify arms it for the worker mode.
#pragma once
#ifdef _WIN32

#include <cstddef>
#include <cstdint>
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
  bool complete() const;
};

RioFns FromTable(const RIO_EXTENSION_FUNCTION_TABLE& t);

class RioBufferPool {
 public:
  RioBufferPool() = default;
  ~RioBufferPool();
  RioBufferPool(const RioBufferPool&) = delete;
  RioBufferPool& operator=(const RioBufferPool&) = delete;

  // `buffers` registered buffers of `bufferBytes` each (rounded up to a whole number of slices).
  bool Init(const RioFns& fns, uint32_t buffers, uint32_t bufferBytes, uint32_t sliceBytes, std::string* err);
  // A free slice, or false when all are in use. `index` names it for Release and Data.
  bool Acquire(uint32_t* index);
  void Release(uint32_t index);
  RIO_BUF Buf(uint32_t index, uint32_t length) const;
  uint8_t* Data(uint32_t index) const;
  uint32_t sliceBytes() const { return sliceBytes_; }
  uint32_t slices() const { return static_cast<uint32_t>(inUse_.size()); }
  uint32_t freeSlices() const { return static_cast<uint32_t>(free_.size()); }
  void Destroy();

 private:
  RioFns fns_;
  std::vector<uint8_t*> memory_;
  std::vector<RIO_BUFFERID> ids_;
  uint32_t slicesPerBuffer_ = 0;
  uint32_t sliceBytes_ = 0;
  std::vector<uint32_t> free_;
  std::vector<uint8_t> inUse_;
};

// What a completion meant, for the owner of the socket.
class RioEvents {
 public:
  virtual ~RioEvents() = default;
  virtual void OnReceived(const uint8_t* data, uint32_t n) = 0;
  virtual void OnSent(uint32_t n) = 0;
  virtual void OnEnd() = 0;
  virtual void OnError(const std::string& why) = 0;
};

class RioSocketQueue {
 public:
  // Request contexts carry (slice << 1) | kind.
  enum Kind : uint64_t { kReceive = 0, kSend = 1 };

  bool Open(const RioFns& fns, RioBufferPool* pool, SOCKET s, RIO_CQ cq, uint32_t maxReceives, uint32_t maxSends, std::string* err);
  // Posts receives until maxReceives are outstanding (or the pool runs dry). False on a failed post.
  bool FillReceives(std::string* err);
  // Copies as much of p[0..n) as free slices and send slots allow into slices and posts them.
  // Returns the bytes taken (the caller keeps the rest), or -1 on a failed post.
  int64_t Send(const uint8_t* p, size_t n, std::string* err);
  // Handles one completion of this socket. Receives are re-posted after delivery.
  void Complete(const RIORESULT& r, RioEvents* ev);
  uint32_t receivesPosted() const { return receives_; }
  uint32_t sendsPosted() const { return sends_; }
  uint64_t bytesInFlight() const { return sendBytes_; }
  RIO_RQ rq() const { return rq_; }

 private:
  RioFns fns_;
  RioBufferPool* pool_ = nullptr;
  RIO_RQ rq_ = kInvalidRq;
  uint32_t maxReceives_ = 0, maxSends_ = 0;
  uint32_t receives_ = 0, sends_ = 0;
  uint64_t sendBytes_ = 0;
  bool ended_ = false;
};

// Dequeues up to `max` completions and hands each to its socket queue (SocketContext is the
// RioSocketQueue*, RequestContext the request). Returns the count, or -1 for RIO_CORRUPT_CQ.
int RioPollCompletions(const RioFns& fns, RIO_CQ cq, uint32_t max, RioEvents* (*eventsFor)(RioSocketQueue*));

}  // namespace rio
}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
