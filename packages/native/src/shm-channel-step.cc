// Channel (shm-channel.h), one turn of its state machine on the loop thread: flush what Write
// queued, deliver what arrived, then choose to poll again or sleep on the doorbell (Schedule,
// TrySleep). And Write, which feeds the rings from JS.
#include "shm-channel.h"

#include "cpu-contention.h"
#include "poll-clock.h"

namespace fastpath {

// Most time one delivery callback may spend copying chunks, so that timers and I/O keep running.
constexpr uint64_t kDeliverBudgetMicros = 100;

void Channel::Step(bool doorbell) {
  if (state_ == kClosed) return;
  Retain();  // a JS callback may destroy the channel: keep the object alive until we return
  sink_->OpenScope();
  StepInner(doorbell);
  sink_->CloseScope();
  Release();
}

// One turn of the state machine. Every call into JS (through the sink) may close the channel, so
// state_ is checked after each one before shared memory is touched again.
void Channel::StepInner(bool doorbell) {
  if (doorbell) bells_.Drain(side_);
  if (armed_) {  // awake now: producers need not ring until we arm again
    in_.Disarm();
    armed_ = false;
  }
  if (!failLater_.empty()) return Fail(failLater_);
  if (!seg_.HeaderIntact()) return Fail("shm segment header was overwritten (magic, version, size or key)");
  SegmentHeader* h = seg_.header();
  if (side_ == 0 && !peerAttached_ && h->attached.load(std::memory_order_acquire) != 0) {
    peerAttached_ = true;
    UnlinkNames();
    sink_->OnAttached();
    if (state_ == kClosed) return;
  }
  // Loaded before delivering: every byte the peer wrote before closing is visible by now.
  bool peerClosed = h->closed[1 - side_].load(std::memory_order_acquire) != 0;
  bool activity = false;
  if (pendingBytes_ > 0 && !peerClosed) {
    if (!FlushPending(&activity) || state_ == kClosed) return;
  }
  bool more = false;
  if (reading_) {
    int n = Deliver(&more);
    if (n < 0 || state_ == kClosed) return;
    if (n > 0) activity = true;
  }
  if (peerClosed && !more) return FinishClose(nullptr);
  if (state_ == kClosing && pendingBytes_ == 0) return FinishClose(nullptr);
  Schedule(activity, more);
}

bool Channel::FlushPending(bool* activity) {
  bool wrote = false;
  while (!pending_.empty()) {
    std::vector<uint8_t>& f = pending_.front();
    int64_t w = out_.Write(f.data() + pendingOff_, f.size() - pendingOff_);
    if (w < 0) {
      Fail("shm ring corrupt: the peer's read position is impossible");
      return false;
    }
    if (w == 0) break;
    wrote = true;
    pendingOff_ += static_cast<size_t>(w);
    pendingBytes_ -= static_cast<size_t>(w);
    if (pendingOff_ == f.size()) {
      pending_.pop_front();
      pendingOff_ = 0;
    }
  }
  if (wrote) {
    *activity = true;
    int pub = out_.Publish();
    if (pub < 0) {
      Fail("shm ring corrupt: this side's write position was overwritten");
      return false;
    }
    if (pub > 0) bells_.Ring(1 - side_);
  }
  if (pendingBytes_ == 0 && blocked_) {
    blocked_ = false;
    if (state_ == kOpen) sink_->OnDrain();
  }
  return true;
}

int Channel::Deliver(bool* more) {
  int count = 0;
  uint64_t start = 0;
  for (;;) {
    int64_t avail = in_.Available();
    if (avail < 0) {
      Fail("shm ring corrupt: the peer's write position is impossible");
      return -1;
    }
    if (avail == 0) break;
    if (count > 0 && (count >= static_cast<int>(opt_.batchMax) || NowMicros() - start > kDeliverBudgetMicros)) {
      *more = true;
      break;
    }
    if (count == 0) start = NowMicros();
    size_t n = static_cast<size_t>(avail) < opt_.slotBytes ? static_cast<size_t>(avail) : opt_.slotBytes;
    uint8_t* dst = sink_->NewChunk(n);
    if (!dst) {
      Fail("out of memory for a received chunk");
      return -1;
    }
    in_.Read(dst, n);
    // Free the space at once (not after JS ran): a producer blocked on a full ring can go on.
    int freed = in_.Commit(n);
    if (freed < 0) {
      Fail("shm ring corrupt: this side's read position was overwritten");
      return -1;
    }
    if (freed > 0) bells_.Ring(1 - side_);
    count++;
  }
  if (count > 0) sink_->FlushChunks();
  return count;
}

bool Channel::Contended(uint64_t now) {
  if (now - contentionCheckedAt_ >= 10000) {
    contentionCheckedAt_ = now;
    contended_ = RunnableExceedsCores();
  }
  return contended_;
}

// Chooses how to wait for the next event: keep the idle handle (poll on the next loop turn), or
// stop it and sleep on the doorbell.
void Channel::Schedule(bool activity, bool more) {
  uint64_t now = NowMicros();
  if (activity) lastActivity_ = now;
  bool poll;
  if (opt_.mode == Mode::kInline) {
    poll = true;  // burns the core by design, like RIO polling
  } else if (more) {
    poll = true;  // a batch was cut short: the rest on the next loop turn
  } else if (opt_.mode == Mode::kAdaptive && now - lastActivity_ < opt_.spinMicros && !Contended(now)) {
    // Adaptive polls for its window after traffic, unless no core is spare: then it sleeps like
    // worker, instead of taking time from the processes that need it.
    poll = true;
    if (!activity) sched_yield();  // let the peer (or anyone) run if this core is contended
  } else {
    // Worker, or the adaptive window is over. Arming re-checks the ring, so bytes that came in
    // while JS ran are not missed: TrySleep then reports them and we poll once more.
    poll = !TrySleep();
    if (state_ == kClosed) return;
  }
  SetPolling(poll);
}

// Arms the flags that make the peer ring our doorbell. Returns false if something arrived while
// arming (then we keep polling).
bool Channel::TrySleep() {
  // A failure noticed during this step (e.g. a corrupt ring seen by Write() from inside onData)
  // must be reported by the next step, not slept through.
  if (!failLater_.empty()) return false;
  if (pendingBytes_ > 0) {
    int r = out_.ArmWait();
    if (r < 0) {
      Fail("shm ring corrupt: the peer's read position is impossible");
      return true;
    }
    if (r > 0) return false;
  }
  if (!reading_) return true;  // not reading: only space, close and attach wake us
  int64_t r = in_.ArmSleep();
  if (r < 0) {
    Fail("shm ring corrupt: the peer's write position is impossible");
    return true;
  }
  if (r > 0) return false;
  armed_ = true;
  return true;
}

int64_t Channel::Write(const uint8_t* p, size_t n) {
  if (state_ != kOpen) return -1;
  if (pendingBytes_ == 0 && n > 0) {
    int64_t w = out_.Write(p, n);
    if (w < 0) {
      failLater_ = "shm ring corrupt: the peer's read position is impossible";
      SetPolling(true);
      return static_cast<int64_t>(pendingBytes_);
    }
    if (w > 0) {
      int pub = out_.Publish();
      if (pub < 0) {
        failLater_ = "shm ring corrupt: this side's write position was overwritten";
        SetPolling(true);
        return static_cast<int64_t>(pendingBytes_);
      }
      if (pub > 0) bells_.Ring(1 - side_);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  if (n > 0) {
    // The ring is full: keep the rest and ask the consumer to ring us when it frees space.
    pending_.emplace_back(p, p + n);
    pendingBytes_ += n;
    blocked_ = true;
    int r = out_.ArmWait();
    if (r != 0) SetPolling(true);  // space already (or corrupt): the next step flushes (or fails)
  }
  if (opt_.mode == Mode::kAdaptive) {
    // Traffic: an answer is likely soon, so poll for it instead of sleeping.
    lastActivity_ = NowMicros();
    if (armed_) {
      in_.Disarm();
      armed_ = false;
    }
    SetPolling(true);
  }
  return static_cast<int64_t>(pendingBytes_);
}

}  // namespace fastpath
