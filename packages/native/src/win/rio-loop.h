// The RIO data path on a libuv loop: one RioEngine (completion queue + buffer pool) per loop and
// mode, polled from the loop. Completions are dispatched on the loop thread, so they reach JS
// through the event loop like every other callback.
//   inline    the completion queue is polled from a uv_idle handle while any RIO socket is reading
//             or sending (it burns the core by design, like the shm tier's inline mode)
//   adaptive  polled for kAdaptivePollMicros after the last completion or send, then notified
//   worker    notified only: RIONotify signals an auto-reset Event, a registered thread-pool wait
//             sends a uv_async, and the loop dequeues
#pragma once
#ifdef _WIN32

#include <node_api.h>
#include <uv.h>

#include <string>

#include "rio-engine.h"

namespace fastpath {
namespace win {

// The process's RIO functions (WSAID_MULTIPLE_RIO on a WSA_FLAG_REGISTERED_IO socket), or null
// with the reason. After UseFakeRio(), the in-memory fake of rio-fake.h instead.
const rio::RioFns* ProcessRioFns(std::string* why);
// Test hook (rioUseFakeForTest): sockets created from now on use the fake RIO stack, which pairs
// the two ends of a loopback connection by address. Wine has no RIO; this runs the data path there.
void UseFakeRio();
bool UsingFakeRio();

class RioLoop {
 public:
  enum Mode : int { kInline = 0, kWorker = 1, kAdaptive = 2 };
  static constexpr uint64_t kAdaptivePollMicros = 200;
  // The engine for this loop and mode, created on first use; null (with why) when RIO is unavailable.
  static RioLoop* For(napi_env env, uv_loop_t* loop, int mode, std::string* why);
  rio::RioSocketQueue* Open(SOCKET s, rio::RioEvents* ev, std::string* why);
  void Close(rio::RioSocketQueue* q);
  // After a write, a resume or a close: poll soon (or arm the notification).
  void Kick();
  int mode() const { return mode_; }

 private:
  RioLoop() = default;
  bool Init(napi_env env, uv_loop_t* loop, int mode, std::string* why);
  void Run();
  void Schedule();
  static void OnIdle(uv_idle_t* h);
  static void OnAsync(uv_async_t* h);
  static void CALLBACK OnEvent(PVOID ctx, BOOLEAN timedOut);
  static void Cleanup(void* arg);

  uv_loop_t* loop_ = nullptr;
  int mode_ = kAdaptive;
  rio::RioEngine engine_;
  uv_idle_t idle_{};
  uv_async_t async_{};
  HANDLE event_ = nullptr, wait_ = nullptr;
  bool idling_ = false, armed_ = false, running_ = false, corrupt_ = false;
  uint64_t lastActivity_ = 0;
};

}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
