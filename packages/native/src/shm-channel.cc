#include "shm-channel.h"

#include "channel-registry.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <time.h>
#endif

#include <cstdlib>
#include <cstring>

namespace fastpath {

// Most time one delivery callback may spend copying chunks, so that timers and I/O keep running.
constexpr uint64_t kDeliverBudgetMicros = 100;

// Spin: a spin that has seen no data yields the CPU (sched_yield) after 2 µs, then after twice as
// long each time up to every 64 µs, in case the peer, or anyone, shares this core: the peer then
// runs within microseconds, not at the end of a time slice (measured here, both ends spinning on
// one vCPU: ~7 µs RTT with this, ~105 µs with a yield every 50 µs). On a core of its own a yield
// returns in about 0.2 µs.
constexpr uint64_t kSpinFirstYieldNanos = 2000;
constexpr uint64_t kSpinMaxYieldNanos = 64000;
// Spin: polls of the ring between two reads of the clock.
constexpr uint32_t kSpinPollsPerClock = 16;

#ifdef _WIN32
static uint64_t NowNanos() {
  static const uint64_t freq = [] {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return static_cast<uint64_t>(f.QuadPart);
  }();
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  uint64_t t = static_cast<uint64_t>(c.QuadPart);
  return t / freq * 1000000000u + t % freq * 1000000000u / freq;
}

static inline int sched_yield() {
  SwitchToThread();
  return 0;
}
#else
static uint64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
#endif

static uint64_t NowMicros() {
  return NowNanos() / 1000u;
}

static inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

Channel::Channel(uv_loop_t* loop, int side, const ChannelOptions& opt) : loop_(loop), side_(side), opt_(opt) {}

Channel::~Channel() {
  UnregisterChannel(this);
}

void Channel::MarkClosedForExit() {
  if (!seg_.mapped()) return;
  seg_.header()->closed[side_].store(1, std::memory_order_seq_cst);
  bells_.Ring(1 - side_);
}

void Channel::InitRings() {
  SegmentHeader* h = seg_.header();
  // Side s produces into ring s and consumes ring 1-s.
  out_.Init(&h->ring[side_], seg_.data(side_), seg_.ringBytes());
  in_.Init(&h->ring[1 - side_], seg_.data(1 - side_), seg_.ringBytes());
}

Channel* Channel::Create(uv_loop_t* loop, const ChannelOptions& opt, OsError* err) {
  auto* ch = new Channel(loop, 0, opt);
  if (!ch->seg_.Create(opt.ringBytes, err) || !ch->bells_.Create(opt.dirBase, err)) {
    ch->seg_.Unlink();
    delete ch;
    return nullptr;
  }
  ch->InitRings();
  RegisterChannel(ch);
  return ch;
}

Channel* Channel::Attach(uv_loop_t* loop, const ChannelToken& token, const ChannelOptions& opt, OsError* err) {
  uint8_t key[kKeyBytes];
  if (!FromHex(token.key, key, kKeyBytes)) {
    SetError(err, "EBADTOKEN", "invalid key in token");
    return nullptr;
  }
  ChannelOptions o = opt;
  o.ringBytes = token.ringBytes;
  auto* ch = new Channel(loop, 1, o);
  if (!ch->seg_.Attach(token.shm, token.ringBytes, key, err) || !ch->bells_.Open(token.dir, err)) {
    delete ch;  // nothing is unlinked: a failed attach leaves the offer to its creator
    return nullptr;
  }
  ch->InitRings();
  // Everything is mapped and open: the names are no longer needed by anyone. Unlink them now so
  // nothing is left in /dev/shm or the tmp dir even if both processes crash later.
  ch->seg_.Unlink();
  ch->bells_.Unlink();
  ch->peerAttached_ = true;
  ch->seg_.header()->attached.store(1, std::memory_order_seq_cst);
  ch->bells_.Ring(0);  // the creator may be asleep: it unlinks too, and reports the attach
  RegisterChannel(ch);
  return ch;
}

void Channel::Start(std::unique_ptr<ChannelSink> sink) {
  sink_ = std::move(sink);
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
#ifdef _WIN32
  uv_async_init(loop_, &poll_, OnBell);
  poll_.data = this;
  handlesInit_ = true;
  handlesOpen_ = 2;
  refs_++;  // released when both handles are closed
  OsError werr;
  if (!bells_.Watch(side_, &poll_, &werr)) failLater_ = werr.message;  // reported by the first step
#else
  uv_poll_init(loop_, &poll_, bells_.fd(side_));
  poll_.data = this;
  handlesInit_ = true;
  handlesOpen_ = 2;
  refs_++;  // released when both handles are closed
  uv_poll_start(&poll_, UV_READABLE, OnPoll);
#endif
  lastActivity_ = NowMicros();
  SetPolling(true);  // one step on the next loop turn sees whatever is already there
}

void Channel::Release() {
  if (--refs_ == 0) delete this;
}

ChannelToken Channel::token() const {
  ChannelToken t;
  t.shm = seg_.name();
  t.dir = bells_.dir();
  t.ringBytes = seg_.ringBytes();
  t.key = ToHex(seg_.key(), kKeyBytes);
  return t;
}

void Channel::OnIdle(uv_idle_t* h) {
  static_cast<Channel*>(h->data)->Step(false);
}

#ifdef _WIN32
void Channel::OnBell(uv_async_t* h) {
  static_cast<Channel*>(h->data)->Step(true);
}
#else
void Channel::OnPoll(uv_poll_t* h, int status, int /*events*/) {
  auto* ch = static_cast<Channel*>(h->data);
  if (status < 0) {
    ch->Retain();
    ch->sink_->OpenScope();
    ch->Fail(std::string("doorbell poll failed: ") + uv_strerror(status));
    ch->sink_->CloseScope();
    ch->Release();
    return;
  }
  ch->Step(true);
}
#endif

void Channel::OnHandleClosed(uv_handle_t* h) {
  auto* ch = static_cast<Channel*>(h->data);
  if (--ch->handlesOpen_ == 0) {
    if (ch->sink_) ch->sink_->OnHandlesClosed();
    ch->Release();
  }
}

void Channel::SetPolling(bool on) {
  if (!handlesInit_ || state_ == kClosed || on == polling_) return;
  polling_ = on;
  if (on) uv_idle_start(&idle_, OnIdle);
  else uv_idle_stop(&idle_);
}

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
    if (out_.Publish()) bells_.Ring(1 - side_);
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
    if (in_.Commit(n)) bells_.Ring(1 - side_);
    count++;
  }
  if (count > 0) sink_->FlushChunks();
  return count;
}

// Whether the machine has no core to spare for polling: at least two more runnable tasks than
// online cores, from the instantaneous "running/total" field of /proc/loadavg. This thread and its
// peer's poller are among them, so two pollers on two cores are not contention, and one task that
// is briefly runnable (a kernel thread) is not either. Sampled at most every 10 ms; where
// /proc/loadavg cannot be read, never contended.
#ifdef _WIN32
// Windows has no instantaneous run-queue length to read cheaply: never contended (adaptive mode
// polls for its window as on a Linux without /proc/loadavg).
static bool RunnableExceedsCores() {
  return false;
}
#else
static bool RunnableExceedsCores() {
  static const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* slash = strchr(buf, '/');
  if (slash == nullptr) return false;
  const char* p = slash;
  while (p > buf && p[-1] >= '0' && p[-1] <= '9') --p;
  if (p == slash) return false;
  long running = strtol(p, nullptr, 10);
  return cores > 0 && running > cores + 1;
}
#endif

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
    if (w > 0 && out_.Publish()) bells_.Ring(1 - side_);
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

void Channel::SetReading(bool on) {
  if (state_ == kClosed || reading_ == on) return;
  reading_ = on;
  if (on) SetPolling(true);  // look at the ring on the next loop turn
}

bool Channel::Close() {
  if (state_ == kClosed) return true;
  if (state_ == kClosing) return false;
  reading_ = false;
  if (pendingBytes_ == 0) {
    Teardown();
    sink_->Detach();
    return true;
  }
  state_ = kClosing;  // the step that flushes the last queued byte finishes the close
  return false;
}

void Channel::Destroy() {
  if (state_ == kClosed) return;
  Teardown();
  if (sink_) sink_->Detach();
}

void Channel::Shutdown() {
  Destroy();
}

void Channel::FinishClose(const std::string* error) {
  if (state_ == kClosed) return;
  Teardown();
  sink_->OnClosed(error);
  sink_->Detach();
}

void Channel::UnlinkNames() {
  seg_.Unlink();
  bells_.Unlink();
}

// Releases everything this side holds. The peer learns of it through the closed flag and a ring.
void Channel::Teardown() {
  if (state_ == kClosed) return;
  state_ = kClosed;
  UnregisterChannel(this);  // after this, the atexit hook no longer touches the mapping
  if (seg_.mapped()) {
    // Published data stays readable by the peer: it drains the ring before it reports the close.
    seg_.header()->closed[side_].store(1, std::memory_order_seq_cst);
    bells_.Ring(1 - side_);
  }
  if (handlesInit_) {
    // uv_close stops the poll handle (and removes the fd from epoll) before the fd is closed.
#ifdef _WIN32
    bells_.Unwatch();  // no uv_async_send after this returns
#endif
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OnHandleClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnHandleClosed);
    polling_ = false;
  }
  bells_.Close();
  UnlinkNames();
  seg_.Unmap();
  pending_.clear();
  pendingBytes_ = 0;
  pendingOff_ = 0;
}

bool Channel::Poke(size_t offset, uint64_t value, int width) {
  if (state_ != kOpen || !seg_.mapped()) return false;
  if ((width != 4 && width != 8) || offset % width != 0 || offset + width > kHeaderBytes) return false;
  uint8_t* p = seg_.base() + offset;
  if (width == 4) reinterpret_cast<std::atomic<uint32_t>*>(p)->store(static_cast<uint32_t>(value), std::memory_order_seq_cst);
  else reinterpret_cast<std::atomic<uint64_t>*>(p)->store(value, std::memory_order_seq_cst);
  bells_.Ring(1 - side_);
  return true;
}

}  // namespace fastpath
