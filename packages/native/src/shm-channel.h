// One shared-memory connection end: a segment with two rings, two doorbells, and the libuv
// handles that drive it on the event-loop thread. No helper threads: the loop itself either polls
// the ring (uv_idle) or sleeps on this side's doorbell FIFO (uv_poll), depending on the mode. The
// opt-in spin is the exception: Spin() busy-polls inside a call from JS, for a bounded time.
// Defined in shm-channel.cc (its life), shm-channel-step.cc (the state machine and Write) and
// shm-channel-spin.cc (Spin).
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "doorbell.h"
#include "os-error.h"
#include "shm-ring.h"
#include "shm-segment.h"

namespace fastpath {

enum class Mode : int { kInline = 0, kWorker = 1, kAdaptive = 2 };

struct ChannelOptions {
  uint32_t ringBytes = 1u << 20;   // per direction, power of two
  uint32_t slotBytes = 64u << 10;  // largest chunk handed to JS
  uint32_t batchMax = 64;          // most chunks handed to JS per callback
  uint32_t spinMicros = 100;       // adaptive: keep polling this long after the last traffic
  Mode mode = Mode::kAdaptive;
  std::string dirBase = "/tmp";    // where the doorbell directory is made (creator only)
};

struct ChannelToken {
  std::string shm;
  std::string dir;
  uint32_t ringBytes = 0;
  std::string key;  // 32 hex digits
};

// How a channel reaches its owner (the JS binding). Called on the loop thread only, and never
// from inside a call the owner made into the channel, except Spin (between BeginSync and EndSync).
class ChannelSink {
 public:
  virtual ~ChannelSink() = default;
  virtual void OpenScope() = 0;
  virtual void CloseScope() = 0;
  virtual uint8_t* NewChunk(size_t n) = 0;  // room for one received chunk; nullptr on failure
  virtual void FlushChunks() = 0;           // delivers the chunks made since the last flush
  virtual void OnAttached() = 0;
  virtual void OnDrain() = 0;
  virtual void OnClosed(const std::string* error) = 0;  // nullptr: a clean close
  virtual void Detach() = 0;                             // drop every reference into JS
  virtual void OnHandlesClosed() = 0;                    // the last uv handle is closed
  // Spin (a call from JS): between these, JS is called synchronously in its own handle scope, and
  // an exception thrown by the callback stays pending (CallFailed) for the caller of spin().
  virtual void BeginSync() = 0;
  virtual void EndSync() = 0;
  virtual bool CallFailed() const = 0;
};

class Channel {
 public:
  static Channel* Create(uv_loop_t* loop, const ChannelOptions& opt, OsError* err);
  static Channel* Attach(uv_loop_t* loop, const ChannelToken& token, const ChannelOptions& opt, OsError* err);

  // Takes ownership of the sink, initialises the uv handles and starts watching.
  void Start(std::unique_ptr<ChannelSink> sink);
  // Writes to the ring what fits and queues the rest. Returns the bytes still queued, or -1 if the
  // channel is not open.
  int64_t Write(const uint8_t* p, size_t n);
  void SetReading(bool on);
  // Busy-polls the receive ring in the calling thread for at most budgetNanos and delivers what
  // arrives through the sink synchronously. Returns as soon as it delivered something: the number
  // of chunks delivered, 0 if the budget ran out (or it may not spin now: not reading, not
  // attached, or already spinning), -1 if the channel is not open.
  // perTurn: the first such spin in an event-loop turn opens a window of budgetNanos (wall clock,
  // JS run in between included); it and every later perTurn spin of the same turn end with it.
  int64_t Spin(uint64_t budgetNanos, bool perTurn);
  // Graceful close: flushes queued bytes first. Returns true if it closed at once; otherwise
  // OnClosed follows when the queue is flushed.
  bool Close();
  // Closes at once, drops queued bytes, calls nothing back. Safe at any time, idempotent.
  void Destroy();
  // The environment is going away: like Destroy, without touching JS.
  void Shutdown();

  void Retain() { refs_++; }
  void Release();

  ChannelToken token() const;
  int side() const { return side_; }
  bool open() const { return state_ == kOpen; }
  bool polling() const { return polling_; }
  bool armed() const { return armed_; }
  // Adaptive mode: true while more tasks are runnable than there are cores (no core to spare for
  // polling), as last sampled.
  bool contended() const { return contended_; }
  size_t pendingBytes() const { return pendingBytes_; }
  uint64_t spins() const { return spins_; }
  uint64_t spinDeliveries() const { return spinDeliveries_; }
  const ChannelOptions& options() const { return opt_; }
  // Tests only: writes `value` (width 4 or 8) at `offset` in the header, as a hostile peer would,
  // then rings the peer. Returns false if out of range or not open.
  bool Poke(size_t offset, uint64_t value, int width);
  // At process exit (see channel-registry.cc): sets this side's closed flag and rings the peer.
  void MarkClosedForExit();

 private:
  enum State { kOpen, kClosing, kClosed };
  Channel(uv_loop_t* loop, int side, const ChannelOptions& opt);
  ~Channel();
  void InitRings();
  static void OnIdle(uv_idle_t* h);
#ifdef _WIN32
  static void OnBell(uv_async_t* h);
#else
  static void OnPoll(uv_poll_t* h, int status, int events);
#endif
  static void OnHandleClosed(uv_handle_t* h);
  void Step(bool doorbell);
  void StepInner(bool doorbell);
  bool FlushPending(bool* activity);
  int Deliver(bool* more);
  int SpinInner(uint64_t budgetNanos, uint64_t hardDeadline);
  void Schedule(bool activity, bool more);
  bool TrySleep();
  void SetPolling(bool on);
  void Teardown();
  void FinishClose(const std::string* error);
  void Fail(const std::string& why) { FinishClose(&why); }
  void UnlinkNames();

  uv_loop_t* loop_;
  int side_;  // 0: the creator, 1: the attacher
  ChannelOptions opt_;
  State state_ = kOpen;
  Segment seg_;
  Doorbells bells_;
  RingProducer out_;
  RingConsumer in_;
  std::unique_ptr<ChannelSink> sink_;
  uv_idle_t idle_;
#ifdef _WIN32
  uv_async_t poll_;  // sent by the doorbell's thread-pool wait (win/doorbell-win.cc)
#else
  uv_poll_t poll_;
#endif
  bool handlesInit_ = false;
  int handlesOpen_ = 0;
  bool polling_ = false;        // the idle handle is running
  bool armed_ = false;          // our consumerAsleep flag is set
  bool reading_ = false;
  bool peerAttached_ = false;
  bool blocked_ = false;        // bytes were queued: report drain when the queue empties
  std::string failLater_;       // a failure found inside a call from JS, reported from the loop
  std::deque<std::vector<uint8_t>> pending_;
  size_t pendingOff_ = 0;
  size_t pendingBytes_ = 0;
  uint64_t lastActivity_ = 0;
  uint64_t contentionCheckedAt_ = 0;  // µs; /proc/loadavg is read at most every 10 ms
  bool contended_ = false;
  bool Contended(uint64_t now);
  bool spinning_ = false;       // inside Spin: it is not re-entered
  uint64_t spinTurn_ = ~0ull;   // the loop turn (uv_metrics_info loop_count) of turnEnd_
  uint64_t turnEnd_ = 0;        // when that turn's perTurn spin window closes (ns)
  uint64_t spins_ = 0;          // Spin calls that polled
  uint64_t spinDeliveries_ = 0; // of those, the ones that delivered something
  int refs_ = 1;
};

}  // namespace fastpath
