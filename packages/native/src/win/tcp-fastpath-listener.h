// TcpFastPathListener: the tcp-fastpath tier's listening socket on 127.0.0.1, as the JS class of
// that name. With RIO it accepts by itself (accept() on an FD_ACCEPT Event), else libuv accepts.
// Defined in tcp-fastpath-listener.cc; the overview is in tcp-fastpath.cc.
#pragma once
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#include <napi.h>
#include <uv.h>

#include <string>

#include "emitter.h"
#include "loopback-fast-path.h"

namespace fastpath {
namespace win {

class TcpFastPathListener : public Napi::ObjectWrap<TcpFastPathListener> {
 public:
  static Napi::Function Init(Napi::Env env);

  TcpFastPathListener(const Napi::CallbackInfo& info);
  ~TcpFastPathListener() override;

  bool ListenRio(SOCKET s, std::string* err);
  static void CALLBACK OnAcceptEvent(PVOID ctx, BOOLEAN);
  static void OnAcceptable(uv_async_t* h);

 private:
  Napi::Value Listen(const Napi::CallbackInfo& info);
  static void OnConnection(uv_stream_t* server, int status);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value FastPath(const Napi::CallbackInfo& info);
  void CloseHandle();

  Emitter em_;
  uv_tcp_t* tcp_ = nullptr;
  FastPathResult fp_;
  SOCKET rioSocket_ = INVALID_SOCKET, accepted_ = INVALID_SOCKET;
  HANDLE acceptEvent_ = nullptr, acceptWait_ = nullptr;
  uv_async_t* async_ = nullptr;
};

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
