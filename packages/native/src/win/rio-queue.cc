#ifdef _WIN32
#include "rio-queue.h"

#include <algorithm>
#include <cstring>

namespace fastpath {
namespace win {
namespace rio {

bool RioFns::complete() const {
  return registerBuffer && deregisterBuffer && createCompletionQueue && closeCompletionQueue && createRequestQueue && receive && send &&
         dequeueCompletion && notify;
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
  size_t bytes = static_cast<size_t>(slicesPerBuffer_) * sliceBytes;
  for (uint32_t b = 0; b < buffers; b++) {
    auto* mem = static_cast<uint8_t*>(VirtualAlloc(nullptr, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
    if (!mem) {
      Destroy();
      return *err = "VirtualAlloc failed for a RIO buffer", false;
    }
    RIO_BUFFERID id = fns_.registerBuffer(reinterpret_cast<PCHAR>(mem), static_cast<DWORD>(bytes));
    if (id == kInvalidBufferId) {
      VirtualFree(mem, 0, MEM_RELEASE);
      Destroy();
      return *err = "RIORegisterBuffer failed: " + std::to_string(WSAGetLastError()), false;
    }
    memory_.push_back(mem);
    ids_.push_back(id);
  }
  uint32_t total = buffers * slicesPerBuffer_;
  inUse_.assign(total, 0);
  free_.clear();
  for (uint32_t i = total; i > 0; i--) free_.push_back(i - 1);  // hands out 0, 1, 2... first
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

bool RioSocketQueue::Open(const RioFns& fns, RioBufferPool* pool, SOCKET s, RIO_CQ cq, uint32_t maxReceives, uint32_t maxSends, std::string* err) {
  if (!fns.complete()) return *err = "incomplete RIO function table", false;
  fns_ = fns;
  pool_ = pool;
  maxReceives_ = maxReceives;
  maxSends_ = maxSends;
  rq_ = fns_.createRequestQueue(s, maxReceives, 1, maxSends, 1, cq, cq, this);
  if (rq_ == kInvalidRq) return *err = "RIOCreateRequestQueue failed: " + std::to_string(WSAGetLastError()), false;
  return FillReceives(err);
}

bool RioSocketQueue::FillReceives(std::string* err) {
  while (!ended_ && receives_ < maxReceives_) {
    uint32_t slice;
    if (!pool_->Acquire(&slice)) return true;  // re-filled as slices come back
    RIO_BUF b = pool_->Buf(slice, pool_->sliceBytes());
    if (!fns_.receive(rq_, &b, 1, 0, reinterpret_cast<PVOID>(static_cast<uintptr_t>(slice) << 1 | kReceive))) {
      pool_->Release(slice);
      *err = "RIOReceive failed: " + std::to_string(WSAGetLastError());
      return false;
    }
    receives_++;
  }
  return true;
}

int64_t RioSocketQueue::Send(const uint8_t* p, size_t n, std::string* err) {
  size_t taken = 0;
  while (taken < n && sends_ < maxSends_) {
    uint32_t slice;
    if (!pool_->Acquire(&slice)) break;
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(n - taken, pool_->sliceBytes()));
    std::memcpy(pool_->Data(slice), p + taken, len);
    RIO_BUF b = pool_->Buf(slice, len);
    if (!fns_.send(rq_, &b, 1, 0, reinterpret_cast<PVOID>(static_cast<uintptr_t>(slice) << 1 | kSend))) {
      pool_->Release(slice);
      *err = "RIOSend failed: " + std::to_string(WSAGetLastError());
      return -1;
    }
    sends_++;
    sendBytes_ += len;
    taken += len;
  }
  return static_cast<int64_t>(taken);
}

void RioSocketQueue::Complete(const RIORESULT& r, RioEvents* ev) {
  uint64_t ctx = r.RequestContext;
  auto slice = static_cast<uint32_t>(ctx >> 1);
  if ((ctx & 1) == kSend) {
    if (sends_ > 0) sends_--;
    uint32_t len = pool_->Buf(slice, pool_->sliceBytes()).Length;
    sendBytes_ -= std::min<uint64_t>(sendBytes_, len);
    pool_->Release(slice);
    if (r.Status != 0) return ev->OnError("RIO send failed: status " + std::to_string(r.Status));
    ev->OnSent(r.BytesTransferred);
    return;
  }
  if (receives_ > 0) receives_--;
  if (r.Status != 0) {
    pool_->Release(slice);
    return ev->OnError("RIO receive failed: status " + std::to_string(r.Status));
  }
  if (r.BytesTransferred == 0) {
    pool_->Release(slice);
    ended_ = true;
    return ev->OnEnd();
  }
  ev->OnReceived(pool_->Data(slice), std::min<uint32_t>(r.BytesTransferred, pool_->sliceBytes()));
  pool_->Release(slice);
  std::string err;
  if (!FillReceives(&err)) ev->OnError(err);
}

int RioPollCompletions(const RioFns& fns, RIO_CQ cq, uint32_t max, RioEvents* (*eventsFor)(RioSocketQueue*)) {
  RIORESULT results[64];
  uint32_t want = std::min<uint32_t>(max, 64);
  ULONG n = fns.dequeueCompletion(cq, results, want);
  if (n == kCorruptCq) return -1;
  for (ULONG i = 0; i < n; i++) {
    auto* q = reinterpret_cast<RioSocketQueue*>(static_cast<uintptr_t>(results[i].SocketContext));
    if (q) q->Complete(results[i], eventsFor(q));
  }
  return static_cast<int>(n);
}

}  // namespace rio
}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
