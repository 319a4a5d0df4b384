#ifdef _WIN32
#include "rio-queue.h"

#include <algorithm>
#include <cstring>

namespace fastpath {
namespace win {
namespace rio {

static int PASCAL RealShutdownSend(SOCKET s) {
  return shutdown(s, SD_SEND);
}

bool RioFns::complete() const {
  return registerBuffer && deregisterBuffer && createCompletionQueue && closeCompletionQueue && createRequestQueue && receive && send &&
         dequeueCompletion && notify && shutdownSend;
}

RioFns FromTable(const RIO_EXTENSION_FUNCTION_TABLE& t) {
  RioFns f;
  f.registerBuffer = t.RIORegisterBuffer;
  f.deregisterBuffer = t.RIODeregisterBuffer;
  f.createCompletionQueue = t.RIOCreateCompletionQueue;
  f.closeCompletionQueue = t.RIOCloseCompletionQueue;
  f.createRequestQueue = t.RIOCreateRequestQueue;
  f.receive = t.RIOReceive;
  f.send = t.RIOSend;
  f.dequeueCompletion = t.RIODequeueCompletion;
  f.notify = t.RIONotify;
  f.shutdownSend = RealShutdownSend;
  return f;
}

RioBufferPool::~RioBufferPool() {
  Destroy();
}

bool RioBufferPool::Init(const RioFns& fns, uint32_t buffers, uint32_t bufferBytes, uint32_t sliceBytes, std::string* err) {
  Destroy();
  if (!fns.complete()) return *err = "incomplete RIO function table", false;
  if (buffers == 0 || sliceBytes == 0 || bufferBytes < sliceBytes) return *err = "invalid pool geometry", false;
  fns_ = fns;
  sliceBytes_ = sliceBytes;
  slicesPerBuffer_ = (bufferBytes + sliceBytes - 1) / sliceBytes;
  for (uint32_t b = 0; b < buffers; b++) {
    if (!AddBuffer(err)) {
      Destroy();
      return false;
    }
  }
  return true;
}

bool RioBufferPool::Grow(std::string* err) {
  if (slicesPerBuffer_ == 0) return *err = "the pool is not initialised", false;
  return AddBuffer(err);
}

bool RioBufferPool::AddBuffer(std::string* err) {
  size_t bytes = static_cast<size_t>(slicesPerBuffer_) * sliceBytes_;
  auto* mem = static_cast<uint8_t*>(VirtualAlloc(nullptr, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
  if (!mem) return *err = "VirtualAlloc failed for a RIO buffer", false;
  RIO_BUFFERID id = fns_.registerBuffer(reinterpret_cast<PCHAR>(mem), static_cast<DWORD>(bytes));
  if (id == kInvalidBufferId) {
    VirtualFree(mem, 0, MEM_RELEASE);
    return *err = "RIORegisterBuffer failed: " + std::to_string(WSAGetLastError()), false;
  }
  memory_.push_back(mem);
  ids_.push_back(id);
  uint32_t first = static_cast<uint32_t>(inUse_.size());
  inUse_.resize(first + slicesPerBuffer_, 0);
  // Handed out lowest first: the free list is a stack.
  std::vector<uint32_t> added;
  for (uint32_t i = first + slicesPerBuffer_; i > first; i--) added.push_back(i - 1);
  free_.insert(free_.begin(), added.begin(), added.end());
  return true;
}

void RioBufferPool::Destroy() {
  for (size_t i = 0; i < ids_.size(); i++) {
    fns_.deregisterBuffer(ids_[i]);
    VirtualFree(memory_[i], 0, MEM_RELEASE);
  }
  ids_.clear();
  memory_.clear();
  free_.clear();
  inUse_.clear();
}

bool RioBufferPool::Acquire(uint32_t* index) {
  if (free_.empty()) return false;
  *index = free_.back();
  free_.pop_back();
  inUse_[*index] = 1;
  return true;
}

void RioBufferPool::Release(uint32_t index) {
  if (index >= inUse_.size() || !inUse_[index]) return;  // a double release is ignored
  inUse_[index] = 0;
  free_.push_back(index);
}

RIO_BUF RioBufferPool::Buf(uint32_t index, uint32_t length) const {
  RIO_BUF b;
  b.BufferId = ids_[index / slicesPerBuffer_];
  b.Offset = (index % slicesPerBuffer_) * sliceBytes_;
  b.Length = std::min(length, sliceBytes_);
  return b;
}

uint8_t* RioBufferPool::Data(uint32_t index) const {
  return memory_[index / slicesPerBuffer_] + static_cast<size_t>(index % slicesPerBuffer_) * sliceBytes_;
}

static PVOID Ctx(uint32_t slice, RioSocketQueue::Kind k) {
  return reinterpret_cast<PVOID>(static_cast<uintptr_t>(slice) << 1 | k);
}

bool RioSocketQueue::Open(const RioFns& fns, RioBufferPool* pool, SOCKET s, RIO_CQ cq, uint32_t maxReceives, uint32_t maxSends, std::string* err) {
  if (!fns.complete()) return *err = "incomplete RIO function table", false;
  fns_ = fns;
  pool_ = pool;
  socket_ = s;
  maxReceives_ = maxReceives;
  maxSends_ = maxSends;
  rq_ = fns_.createRequestQueue(s, maxReceives, 1, maxSends, 1, cq, cq, this);
  if (rq_ == kInvalidRq) return *err = "RIOCreateRequestQueue failed: " + std::to_string(WSAGetLastError()), false;
  return true;
}

bool RioSocketQueue::SetPaused(bool paused, std::string* err) {
  paused_ = paused;
  if (paused) return true;
  // Deliver what was held, in order; the callback may pause again or detach.
  while (!paused_ && !detached_ && !held_.empty()) {
    Held h = held_.front();
    held_.pop_front();
    Deliver(h.slice, h.n);
  }
  if (!held_.empty() || paused_ || detached_) return true;
  if (ended_) {
    if (events_) events_->OnEnd();
    return true;
  }
  return FillReceives(err);
}

bool RioSocketQueue::FillReceives(std::string* err) {
  while (!ended_ && !paused_ && !detached_ && !failed_ && receives_ + held_.size() < maxReceives_) {
    uint32_t slice;
    if (!pool_->Acquire(&slice)) return true;  // re-filled as slices come back (RioEngine::Poll)
    RIO_BUF b = pool_->Buf(slice, pool_->sliceBytes());
    if (!fns_.receive(rq_, &b, 1, 0, Ctx(slice, kReceive))) {
      pool_->Release(slice);
      *err = "RIOReceive failed: " + std::to_string(WSAGetLastError());
      return false;
    }
    receives_++;
  }
  return true;
}

bool RioSocketQueue::PostSend(uint32_t slice, uint32_t offset, uint32_t len, std::string* err) {
  RIO_BUF b = pool_->Buf(slice, pool_->sliceBytes());
  b.Offset += offset;  // always 0 today: a short send's remainder is moved to the slice start
  b.Length = len;
  if (!fns_.send(rq_, &b, 1, 0, Ctx(slice, kSend))) {
    *err = "RIOSend failed: " + std::to_string(WSAGetLastError());
    return false;
  }
  if (sendLen_.size() <= slice) sendLen_.resize(pool_->slices(), 0);
  sendLen_[slice] = len;
  sends_++;
  sendBytes_ += len;
  return true;
}

int64_t RioSocketQueue::Send(const uint8_t* p, size_t n, std::string* err) {
  size_t taken = 0;
  while (taken < n && sends_ < maxSends_ && !failed_) {
    uint32_t slice;
    if (!pool_->Acquire(&slice)) break;
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(n - taken, pool_->sliceBytes()));
    std::memcpy(pool_->Data(slice), p + taken, len);
    if (!PostSend(slice, 0, len, err)) {
      pool_->Release(slice);
      failed_ = true;
      return -1;
    }
    taken += len;
  }
  return static_cast<int64_t>(taken);
}

int64_t RioSocketQueue::Write(const uint8_t* p, size_t n, std::string* err) {
  if (failed_) return *err = "the RIO queue has failed", -1;
  size_t taken = 0;
  if (queued_.empty()) {
    int64_t t = Send(p, n, err);
    if (t < 0) return -1;
    taken = static_cast<size_t>(t);
  }
  queued_.insert(queued_.end(), p + taken, p + n);
  return static_cast<int64_t>(queued_.size());
}

bool RioSocketQueue::Flush(std::string* err) {
  while (!queued_.empty() && sends_ < maxSends_ && !failed_) {
    uint32_t slice;
    if (!pool_->Acquire(&slice)) return true;  // flushed again when a slice comes back
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(queued_.size(), pool_->sliceBytes()));
    std::copy(queued_.begin(), queued_.begin() + len, pool_->Data(slice));
    if (!PostSend(slice, 0, len, err)) {
      pool_->Release(slice);
      failed_ = true;
      return false;
    }
    queued_.erase(queued_.begin(), queued_.begin() + len);
  }
  return true;
}

void RioSocketQueue::Fail(const std::string& why) {
  failed_ = true;
  if (events_) events_->OnError(why);
}

void RioSocketQueue::Deliver(uint32_t slice, uint32_t n) {
  if (events_) events_->OnReceived(pool_->Data(slice), std::min<uint32_t>(n, pool_->sliceBytes()));
  pool_->Release(slice);
}

void RioSocketQueue::Complete(const RIORESULT& r) {
  uint64_t ctx = r.RequestContext;
  auto slice = static_cast<uint32_t>(ctx >> 1);
  std::string err;
  if ((ctx & 1) == kSend) {
    uint32_t len = slice < sendLen_.size() ? sendLen_[slice] : 0;
    if (sends_ > 0) sends_--;
    sendBytes_ -= std::min<uint64_t>(sendBytes_, len);
    if (detached_) return pool_->Release(slice);
    if (r.Status != 0) {
      pool_->Release(slice);
      return Fail("RIO send failed: status " + std::to_string(r.Status));
    }
    if (r.BytesTransferred < len) {
      // A short send. Its remainder can be re-posted only when no later send is in flight;
      // otherwise the bytes on the wire would be out of order.
      uint32_t done = r.BytesTransferred;
      if (sends_ > 0) {
        pool_->Release(slice);
        return Fail("RIO send completed short (" + std::to_string(done) + " of " + std::to_string(len) + " bytes) with later sends in flight");
      }
      // Move the remainder to the slice start, then post it again.
      std::memmove(pool_->Data(slice), pool_->Data(slice) + done, len - done);
      if (!PostSend(slice, 0, len - done, &err)) {
        pool_->Release(slice);
        return Fail(err);
      }
      if (events_ && done > 0) events_->OnSent(done);
      return;
    }
    pool_->Release(slice);
    if (!Flush(&err)) return Fail(err);
    if (!FillReceives(&err)) return Fail(err);  // a freed slice may be what a receive waited for
    if (events_) events_->OnSent(r.BytesTransferred);
    return;
  }
  if (receives_ > 0) receives_--;
  if (detached_) return pool_->Release(slice);
  if (r.Status != 0) {
    pool_->Release(slice);
    return Fail("RIO receive failed: status " + std::to_string(r.Status));
  }
  if (r.BytesTransferred == 0) {
    pool_->Release(slice);
    ended_ = true;
    if (paused_ || !held_.empty()) return;  // reported after the held data, on resume
    if (events_) events_->OnEnd();
    return;
  }
  if (paused_ || !held_.empty()) {
    held_.push_back({slice, r.BytesTransferred});
    return;
  }
  Deliver(slice, r.BytesTransferred);
  if (!FillReceives(&err)) Fail(err);
}

void RioSocketQueue::Detach() {
  detached_ = true;
  events_ = nullptr;
  for (const Held& h : held_) pool_->Release(h.slice);
  held_.clear();
  queued_.clear();
}

int RioPollCompletions(const RioFns& fns, RIO_CQ cq, uint32_t max) {
  RIORESULT results[64];
  int total = 0;
  while (max > 0) {
    uint32_t want = std::min<uint32_t>(max, 64);
    ULONG n = fns.dequeueCompletion(cq, results, want);
    if (n == kCorruptCq) return -1;
    for (ULONG i = 0; i < n; i++) {
      auto* q = reinterpret_cast<RioSocketQueue*>(static_cast<uintptr_t>(results[i].SocketContext));
      if (q) q->Complete(results[i]);
    }
    total += static_cast<int>(n);
    max -= n;
    if (n < want) break;
  }
  return total;
}

}  // namespace rio
}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
