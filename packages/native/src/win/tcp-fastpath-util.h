// What the tcp-fastpath sockets, the listener and the probe (tcp-fastpath-socket.cc,
// tcp-fastpath-listener.cc, tcp-fastpath.cc) share: the event kinds their callbacks get, a new
// socket with the fast path attempted, and small N-API and libuv helpers.
#pragma once
#ifdef _WIN32
#include <winsock2.h>
#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <string>

#include "loopback-fast-path.h"
#include "rio-loop.h"

namespace fastpath {
namespace win {

enum Event : int32_t { kEvData = 0, kEvDrain = 3, kEvClosed = 4, kEvConnected = 5, kEvConnection = 6 };

inline Napi::Object ResultObject(Napi::Env env, const FastPathResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("attempted", Napi::Boolean::New(env, r.attempted));
  o.Set("enabled", Napi::Boolean::New(env, r.enabled));
  if (r.error) o.Set("error", Napi::Number::New(env, r.error));
  if (!r.code.empty()) o.Set("code", Napi::String::New(env, r.code));
  if (!r.message.empty()) o.Set("message", Napi::String::New(env, r.message));
  return o;
}

// A new overlapped IPv4 TCP socket with the fast path attempted on it.
inline SOCKET NewSocket(FastPathResult* fp, std::string* err, bool registeredIo) {
  DWORD flags = WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT | (registeredIo ? WSA_FLAG_REGISTERED_IO : 0);
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, flags);
  if (s == INVALID_SOCKET) {
    *err = "WSASocket: " + WsaErrorName(WSAGetLastError());
    return s;
  }
  *fp = EnableLoopbackFastPath(s);
  return s;
}

inline void ThrowError(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

inline uv_loop_t* LoopOf(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

// Detaches a heap-allocated libuv handle from its owner (`handle` becomes null, its data pointer
// too, so a late callback finds nothing) and closes it; libuv frees it once the close completes.
template <class Handle>
inline void CloseAndFree(Handle*& handle) {
  if (!handle) return;
  Handle* h = handle;
  handle = nullptr;
  h->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* hh) { delete reinterpret_cast<Handle*>(hh); });
}

// Whether new sockets should be made for RIO (the table, or the fake, is there).
inline bool RioAvailable() {
  std::string why;
  return ProcessRioFns(&why) != nullptr;
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
