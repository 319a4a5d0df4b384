// Channel (shm-channel.h), its life: creating or attaching the segment and doorbells, the uv
// handles that drive it, reading on and off, closing (graceful, at once, or at exit) and teardown,
// and Poke for the tests. One step of its state machine and Write are in shm-channel-step.cc; the
// opt-in spin is in shm-channel-spin.cc.
#include "shm-channel.h"

#include "channel-registry.h"
#include "poll-clock.h"

namespace fastpath {

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
