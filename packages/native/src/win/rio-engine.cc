#ifdef _WIN32
#include "rio-engine.h"

#include <algorithm>

namespace fastpath {
namespace win {
namespace rio {

RioEngine::~RioEngine() {
  Destroy();
}

bool RioEngine::Init(const RioFns& fns, const RioEngineConfig& cfg, RIO_NOTIFICATION_COMPLETION* notification, std::string* err) {
  Destroy();
  if (cfg.initialBuffers == 0 || cfg.maxBuffers < cfg.initialBuffers || cfg.receivesPerSocket == 0 || cfg.sendsPerSocket == 0) {
    return *err = "invalid RIO engine configuration", false;
  }
  fns_ = fns;
  cfg_ = cfg;
  if (!pool_.Init(fns, cfg.initialBuffers, cfg.bufferBytes, cfg.sliceBytes, err)) return false;
  cqSize_ = cfg.maxBuffers * pool_.slicesPerBuffer();
  cq_ = fns_.createCompletionQueue(cqSize_, notification);
  if (cq_ == kInvalidCq) {
    *err = "RIOCreateCompletionQueue failed: " + std::to_string(WSAGetLastError());
    pool_.Destroy();
    return false;
  }
  corrupt_ = false;
  return true;
}

RioSocketQueue* RioEngine::Open(SOCKET s, RioEvents* ev, std::string* why) {
  if (cq_ == kInvalidCq) return *why = "the RIO engine is not initialised", nullptr;
  if (corrupt_) return *why = "the RIO completion queue is corrupt (RIO_CORRUPT_CQ)", nullptr;
  uint32_t need = cfg_.receivesPerSocket + cfg_.sendsPerSocket;
  while (reserved_ + need > pool_.slices()) {
    if (pool_.buffers() >= cfg_.maxBuffers) {
      *why = "the RIO buffer pool is full (" + std::to_string(pool_.buffers()) + " registered buffers, " + std::to_string(openQueues()) +
             " sockets)";
      return nullptr;
    }
    if (!pool_.Grow(why)) return nullptr;
  }
  auto* q = new RioSocketQueue();
  if (!q->Open(fns_, &pool_, s, cq_, cfg_.receivesPerSocket, cfg_.sendsPerSocket, why)) {
    delete q;
    return nullptr;
  }
  q->SetEvents(ev);
  reserved_ += need;
  queues_.push_back(q);
  return q;
}

void RioEngine::Close(RioSocketQueue* q) {
  if (!q || q->detached()) return;
  q->Detach();
  if (fns_.socketClosing) fns_.socketClosing(q->socket());
  if (!polling_) Reap();
}

int RioEngine::Poll(uint32_t max) {
  if (corrupt_) return -1;
  polling_++;
  int n = RioPollCompletions(fns_, cq_, max);
  if (n < 0) {
    corrupt_ = true;
    // Nothing on this queue can be trusted any more: every socket on it fails.
    for (size_t i = 0; i < queues_.size(); i++) {
      RioSocketQueue* q = queues_[i];
      if (!q->detached()) q->Fail("the RIO completion queue is corrupt (RIO_CORRUPT_CQ)");
    }
  } else {
    std::string err;
    for (size_t i = 0; i < queues_.size(); i++) {  // by index: a callback may open a queue
      RioSocketQueue* q = queues_[i];
      if (q->detached() || q->failed()) continue;
      if (!q->Flush(&err) || !q->FillReceives(&err)) q->Fail(err);
    }
  }
  polling_--;
  if (!polling_) Reap();
  return n;
}

void RioEngine::Reap() {
  uint32_t need = cfg_.receivesPerSocket + cfg_.sendsPerSocket;
  auto keep = std::remove_if(queues_.begin(), queues_.end(), [&](RioSocketQueue* q) {
    // A corrupt queue never completes anything again: its requests are abandoned with it.
    if (!q->detached() || (q->outstanding() > 0 && !corrupt_)) return false;
    delete q;
    reserved_ -= std::min(reserved_, need);
    return true;
  });
  queues_.erase(keep, queues_.end());
}

int RioEngine::Arm() {
  if (cq_ == kInvalidCq) return WSAEINVAL;
  return fns_.notify(cq_);
}

uint32_t RioEngine::openQueues() const {
  uint32_t n = 0;
  for (RioSocketQueue* q : queues_) n += q->detached() ? 0 : 1;
  return n;
}

uint32_t RioEngine::activeQueues() const {
  uint32_t n = 0;
  for (RioSocketQueue* q : queues_) n += !q->detached() && !q->failed() && (!q->paused() || !q->idle()) ? 1 : 0;
  return n;
}

void RioEngine::Destroy() {
  for (RioSocketQueue* q : queues_) delete q;
  queues_.clear();
  reserved_ = 0;
  if (cq_ != kInvalidCq) fns_.closeCompletionQueue(cq_);
  cq_ = kInvalidCq;
  pool_.Destroy();
}

}  // namespace rio
}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
