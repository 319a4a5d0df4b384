#ifdef _WIN32
#include "rio-loop.h"

#include <node_api.h>

#include <map>
#include <utility>

#include "loopback-fast-path.h"
#include "rio-fake.h"

namespace fastpath {
namespace win {

namespace {
bool fakeRio = false;
bool probed = false;
rio::RioFns realFns;
std::string realWhy;
std::map<std::pair<uv_loop_t*, int>, RioLoop*> loops;
}  // namespace

void UseFakeRio() {
  if (fakeRio) return;
  fakeRio = true;
  rio::fake::PairByAddress(true);
}

bool UsingFakeRio() {
  return fakeRio;
}

const rio::RioFns* ProcessRioFns(std::string* why) {
  if (fakeRio) {
    static rio::RioFns f = rio::fake::Fns();
    return &f;
  }
  if (!probed) {
    probed = true;
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_REGISTERED_IO | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
      realWhy = "WSASocket(WSA_FLAG_REGISTERED_IO): " + WsaErrorName(WSAGetLastError());
    } else {
      GUID id = rio::kWsaidMultipleRio;
      rio::RIO_EXTENSION_FUNCTION_TABLE table = {};
      table.cbSize = sizeof table;
      DWORD bytes = 0;
      if (WSAIoctl(s, rio::kSioGetMultipleExtensionFunctionPointer, &id, sizeof id, &table, sizeof table, &bytes, nullptr, nullptr) == SOCKET_ERROR) {
        int e = WSAGetLastError();
        realWhy = "WSAID_MULTIPLE_RIO lookup failed with " + WsaErrorName(e) + " (" + std::to_string(e) + ")";
      } else {
        realFns = rio::FromTable(table);
        if (!realFns.complete()) realWhy = "the RIO function table came back incomplete";
      }
      closesocket(s);
    }
  }
  if (!realWhy.empty()) {
    *why = realWhy;
    return nullptr;
  }
  return &realFns;
}

RioLoop* RioLoop::For(napi_env env, uv_loop_t* loop, int mode, std::string* why) {
  if (mode < kInline || mode > kAdaptive) mode = kAdaptive;
  auto key = std::make_pair(loop, mode);
  auto it = loops.find(key);
  if (it != loops.end()) return it->second;
  auto* l = new RioLoop();
  if (!l->Init(env, loop, mode, why)) {
    delete l;
    return nullptr;
  }
  loops[key] = l;
  return l;
}

bool RioLoop::Init(napi_env env, uv_loop_t* loop, int mode, std::string* why) {
  const rio::RioFns* fns = ProcessRioFns(why);
  if (!fns) return false;
  loop_ = loop;
  mode_ = mode;
  event_ = CreateEventW(nullptr, FALSE, FALSE, nullptr);  // auto-reset: one wake per signal
  if (!event_) return *why = "CreateEvent failed", false;
  rio::RIO_NOTIFICATION_COMPLETION n{};
  n.Type = rio::RIO_EVENT_COMPLETION;
  n.Event.EventHandle = event_;
  n.Event.NotifyReset = FALSE;
  if (!engine_.Init(*fns, rio::RioEngineConfig(), &n, why)) {
    CloseHandle(event_);
    return false;
  }
  uv_idle_init(loop, &idle_);
  idle_.data = this;
  uv_async_init(loop, &async_, OnAsync);
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));  // ref'd only while a socket waits on it
  if (!RegisterWaitForSingleObject(&wait_, event_, OnEvent, this, INFINITE, WT_EXECUTEINWAITTHREAD)) {
    *why = "RegisterWaitForSingleObject failed";
    wait_ = nullptr;
  }
  napi_add_env_cleanup_hook(env, Cleanup, this);
  return wait_ != nullptr;
}

// The environment is going away (process exit or a worker thread ending): stop the wait, close
// the handles. The engine's memory goes with the process, or leaks once per ended worker.
void RioLoop::Cleanup(void* arg) {
  auto* self = static_cast<RioLoop*>(arg);
  for (auto it = loops.begin(); it != loops.end(); ++it) {
    if (it->second == self) {
      loops.erase(it);
      break;
    }
  }
  if (self->wait_) UnregisterWaitEx(self->wait_, INVALID_HANDLE_VALUE);  // waits for a running callback
  self->wait_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&self->idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->async_), nullptr);
}

void CALLBACK RioLoop::OnEvent(PVOID ctx, BOOLEAN) {
  uv_async_send(&static_cast<RioLoop*>(ctx)->async_);
}

void RioLoop::OnAsync(uv_async_t* h) {
  auto* self = static_cast<RioLoop*>(h->data);
  self->armed_ = false;
  self->Run();
}

void RioLoop::OnIdle(uv_idle_t* h) {
  static_cast<RioLoop*>(h->data)->Run();
}

rio::RioSocketQueue* RioLoop::Open(SOCKET s, rio::RioEvents* ev, std::string* why) {
  if (corrupt_) return *why = "the RIO completion queue is corrupt (RIO_CORRUPT_CQ)", nullptr;
  rio::RioSocketQueue* q = engine_.Open(s, ev, why);
  if (q) Kick();
  return q;
}

void RioLoop::Close(rio::RioSocketQueue* q) {
  engine_.Close(q);
  Schedule();
}

void RioLoop::Kick() {
  lastActivity_ = uv_hrtime() / 1000;
  if (!running_) Schedule();
}

void RioLoop::Run() {
  if (corrupt_) return;
  running_ = true;
  int n = 0, got;
  // Bounded: a few batches, then back to the loop (other I/O and timers get their turn).
  for (int i = 0; i < 4; i++) {
    got = engine_.Poll(256);
    if (got < 0) {
      corrupt_ = true;  // every socket on it has failed (OnError); new ones use IOCP
      break;
    }
    n += got;
    if (got < 256) break;
  }
  running_ = false;
  if (n > 0) lastActivity_ = uv_hrtime() / 1000;
  Schedule();
}

void RioLoop::Schedule() {
  bool waiting = !corrupt_ && (engine_.activeQueues() > 0 || engine_.queues() > engine_.openQueues());
  bool poll = waiting && (mode_ == kInline || (mode_ == kAdaptive && uv_hrtime() / 1000 - lastActivity_ < kAdaptivePollMicros));
  if (poll && !idling_) uv_idle_start(&idle_, OnIdle);
  if (!poll && idling_) uv_idle_stop(&idle_);
  idling_ = poll;
  if (waiting && !poll && !armed_) {
    int r = engine_.Arm();
    armed_ = r == 0 || r == WSAEALREADY;
  }
  if (waiting) uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
