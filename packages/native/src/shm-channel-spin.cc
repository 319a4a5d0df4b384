// Channel (shm-channel.h), the opt-in spin: Spin busy-polls the receive ring inside a call from
// JS, for a bounded time, and delivers what arrives synchronously.
#include "shm-channel.h"

#include "poll-clock.h"

namespace fastpath {

// Spin: a spin that has seen no data yields the CPU (sched_yield) after 2 µs, then after twice as
// long each time up to every 64 µs, in case the peer, or anyone, shares this core: the peer then
// runs within microseconds, not at the end of a time slice (measured here, both ends spinning on
// one vCPU: ~7 µs RTT with this, ~105 µs with a yield every 50 µs). On a core of its own a yield
// returns in about 0.2 µs.
constexpr uint64_t kSpinFirstYieldNanos = 2000;
constexpr uint64_t kSpinMaxYieldNanos = 64000;
// Spin: polls of the ring between two reads of the clock.
constexpr uint32_t kSpinPollsPerClock = 16;

int64_t Channel::Spin(uint64_t budgetNanos, bool perTurn) {
  if (state_ != kOpen) return -1;
  if (spinning_ || !reading_ || !peerAttached_ || budgetNanos == 0 || !sink_) return 0;
  if (!failLater_.empty()) {
    SetPolling(true);  // the next step reports it
    return 0;
  }
  uint64_t hardDeadline = UINT64_MAX;
  if (perTurn) {
    // One window per loop turn, however many replies prompt new requests in it: a stream of them
    // cannot keep the loop from its timers and I/O for longer than the budget.
    uv_metrics_t m;
    uint64_t turn = uv_metrics_info(loop_, &m) == 0 ? m.loop_count : 0;
    uint64_t now = NowNanos();
    if (turn != spinTurn_) {
      spinTurn_ = turn;
      turnEnd_ = now + budgetNanos;
    }
    if (now >= turnEnd_) return 0;
    hardDeadline = turnEnd_;
  }
  spinning_ = true;
  spins_++;
  Retain();  // the callback may destroy the channel
  sink_->BeginSync();
  int n = SpinInner(budgetNanos, hardDeadline);
  sink_->EndSync();
  spinning_ = false;
  // Hand back to the mode on the next loop turn: worker re-arms its doorbell (Spin disarmed it),
  // adaptive polls for its window, inline keeps polling, a cut-short batch goes on.
  if (state_ == kOpen) SetPolling(true);
  int64_t r = n > 0 ? n : (state_ == kOpen ? 0 : -1);
  Release();
  return r;
}

// The polling loop of Spin. Same checks as a step, in the same order; returns the chunks delivered.
// It polls until budgetNanos after its first empty poll, or hardDeadline, whichever comes first.
int Channel::SpinInner(uint64_t budgetNanos, uint64_t hardDeadline) {
  if (!seg_.HeaderIntact()) {
    Fail("shm segment header was overwritten (magic, version, size or key)");
    return 0;
  }
  if (armed_) {  // polling now: the peer need not ring the doorbell
    in_.Disarm();
    armed_ = false;
  }
  SegmentHeader* h = seg_.header();
  uint64_t deadline = 0;  // the clock is read from the first empty poll on: a reply already there costs none
  uint64_t nextYield = 0;
  uint64_t yieldEvery = kSpinFirstYieldNanos;
  for (uint32_t i = 0;; i++) {
    // Loaded before the ring, as in a step: bytes written before a close are all seen.
    bool peerClosed = h->closed[1 - side_].load(std::memory_order_acquire) != 0;
    if (pendingBytes_ > 0 && !peerClosed) {
      bool activity = false;
      if (!FlushPending(&activity) || state_ != kOpen || sink_->CallFailed()) return 0;
    }
    int64_t avail = in_.Available();
    if (avail < 0) {
      Fail("shm ring corrupt: the peer's write position is impossible");
      return 0;
    }
    if (avail > 0) {
      bool more = false;
      int n = Deliver(&more);  // bounded by batchMax and kDeliverBudgetMicros, as in a step
      if (n > 0) {
        spinDeliveries_++;
        if (opt_.mode == Mode::kAdaptive) lastActivity_ = NowMicros();  // traffic: poll on after
      }
      return n > 0 ? n : 0;
    }
    if (peerClosed) return 0;  // the next step reports the close
    if (i % kSpinPollsPerClock == 0) {
      uint64_t now = NowNanos();
      if (i == 0) {
        deadline = now + budgetNanos < hardDeadline ? now + budgetNanos : hardDeadline;
        nextYield = now + yieldEvery;
      }
      if (now >= deadline) {
        return 0;
      } else if (now >= nextYield) {
        sched_yield();
        if (yieldEvery < kSpinMaxYieldNanos) yieldEvery *= 2;
        nextYield = NowNanos() + yieldEvery;
      }
    }
    CpuRelax();
  }
}

}  // namespace fastpath
