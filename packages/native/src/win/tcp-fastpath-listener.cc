// TcpFastPathListener (tcp-fastpath-listener.h): listen on 127.0.0.1 with the fast path
// attempted, and hand each incoming connection to a TcpFastPathSocket. The tier's overview is in
// tcp-fastpath.cc.
#ifdef _WIN32
#include "tcp-fastpath-listener.h"

#include <ws2tcpip.h>

#include <string>

#include "tcp-fastpath-socket.h"
#include "tcp-fastpath-util.h"
#include "win-error.h"

namespace fastpath {
namespace win {

Napi::Function TcpFastPathListener::Init(Napi::Env env) {
  return DefineClass(env, "TcpFastPathListener",
                     {InstanceMethod<&TcpFastPathListener::Listen>("listen"), InstanceMethod<&TcpFastPathListener::Accept>("accept"),
                      InstanceMethod<&TcpFastPathListener::Close>("close"), InstanceMethod<&TcpFastPathListener::FastPath>("fastPath")});
}

// new TcpFastPathListener(callback): callback(6) for each incoming connection; JS then calls
// accept(new TcpFastPathSocket(cb)) from inside that callback.
TcpFastPathListener::TcpFastPathListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpFastPathListener>(info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "TcpFastPathListener(callback)").ThrowAsJavaScriptException();
    return;
  }
  em_.Init(info.Env(), info.This().As<Napi::Object>(), info[0].As<Napi::Function>(), "FastpathTcpFastPathListener");
}

TcpFastPathListener::~TcpFastPathListener() { CloseHandle(); }

// RIO: the listener accepts with accept(), which gives sockets that keep WSA_FLAG_REGISTERED_IO
// (libuv's AcceptEx would hand over sockets made without it). FD_ACCEPT signals an Event; a
// registered thread-pool wait wakes the loop with a uv_async, and the loop accepts.
bool TcpFastPathListener::ListenRio(SOCKET s, std::string* err) {
  if (::listen(s, 128) == SOCKET_ERROR) return *err = "listen: " + WsaErrorName(WSAGetLastError()), false;
  acceptEvent_ = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (!acceptEvent_ || WSAEventSelect(s, acceptEvent_, FD_ACCEPT) == SOCKET_ERROR) return *err = "WSAEventSelect: " + WsaErrorName(WSAGetLastError()), false;
  async_ = new uv_async_t;
  uv_async_init(LoopOf(em_.env()), async_, OnAcceptable);
  async_->data = this;
  if (!RegisterWaitForSingleObject(&acceptWait_, acceptEvent_, OnAcceptEvent, async_, INFINITE, WT_EXECUTEINWAITTHREAD)) {
    acceptWait_ = nullptr;
    return *err = "RegisterWaitForSingleObject failed", false;
  }
  rioSocket_ = s;
  return true;
}

void CALLBACK TcpFastPathListener::OnAcceptEvent(PVOID ctx, BOOLEAN) { uv_async_send(static_cast<uv_async_t*>(ctx)); }

void TcpFastPathListener::OnAcceptable(uv_async_t* h) {
  auto* self = static_cast<TcpFastPathListener*>(h->data);
  if (!self) return;
  for (int i = 0; i < 64 && self->rioSocket_ != INVALID_SOCKET; i++) {
    SOCKET c = accept(self->rioSocket_, nullptr, nullptr);
    if (c == INVALID_SOCKET) break;  // WSAEWOULDBLOCK: FD_ACCEPT is re-armed by this call
    WSAEventSelect(c, nullptr, 0);   // the accepted socket inherits the listener's selection
    self->accepted_ = c;
    self->em_.Emit(kEvConnection);  // JS calls accept(socket), which takes accepted_
    if (self->accepted_ != INVALID_SOCKET) closesocket(self->accepted_);
    self->accepted_ = INVALID_SOCKET;
  }
}

// listen(): binds 127.0.0.1:0 with the fast path attempted first. Returns the port.
Napi::Value TcpFastPathListener::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (tcp_ || rioSocket_ != INVALID_SOCKET) {
    ThrowError(env, "EINVAL", "listen() once");
    return env.Undefined();
  }
  std::string err;
  bool rio = RioAvailable();
  SOCKET s = NewSocket(&fp_, &err, rio);
  if (s == INVALID_SOCKET) {
    ThrowError(env, "EIO", err);
    return env.Undefined();
  }
  sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == SOCKET_ERROR) {
    int e = WSAGetLastError();
    closesocket(s);
    ThrowError(env, "EADDRNOTAVAIL", "bind(127.0.0.1:0): " + WsaErrorName(e));
    return env.Undefined();
  }
  if (rio) {
    if (!ListenRio(s, &err)) {
      CloseHandle();
      if (rioSocket_ == INVALID_SOCKET) closesocket(s);
      ThrowError(env, "EIO", err);
      return env.Undefined();
    }
    sockaddr_in bound;
    int blen = sizeof bound;
    getsockname(s, reinterpret_cast<sockaddr*>(&bound), &blen);
    return Napi::Number::New(env, ntohs(bound.sin_port));
  }
  tcp_ = new uv_tcp_t;
  uv_tcp_init(LoopOf(env), tcp_);
  tcp_->data = this;
  int rc = uv_tcp_open(tcp_, static_cast<uv_os_sock_t>(s));
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp_), 128, OnConnection);
  if (rc != 0) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(tcp_)) == 0) CloseHandle();
    ThrowError(env, uv_err_name(rc), std::string("listen: ") + uv_strerror(rc));
    return env.Undefined();
  }
  sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len);
  return Napi::Number::New(env, ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
}

void TcpFastPathListener::OnConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpFastPathListener*>(server->data);
  if (!self || status != 0) return;
  self->em_.Emit(kEvConnection);
}

// accept(socket): inside the connection callback. Returns false if there was nothing to accept.
Napi::Value TcpFastPathListener::Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if ((!tcp_ && accepted_ == INVALID_SOCKET) || info.Length() < 1 || !info[0].IsObject()) return Napi::Boolean::New(env, false);
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.InstanceOf(TcpFastPathSocket::ctor.Value())) return Napi::Boolean::New(env, false);
  TcpFastPathSocket* sock = Napi::ObjectWrap<TcpFastPathSocket>::Unwrap(o);
  if (accepted_ != INVALID_SOCKET) {
    SOCKET c = accepted_;
    accepted_ = INVALID_SOCKET;
    if (sock->AdoptAccepted(c, fp_)) return Napi::Boolean::New(env, true);
    closesocket(c);
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, sock->AcceptFrom(reinterpret_cast<uv_stream_t*>(tcp_), fp_));
}

Napi::Value TcpFastPathListener::Close(const Napi::CallbackInfo& info) {
  CloseHandle();
  em_.Release();
  return info.Env().Undefined();
}

Napi::Value TcpFastPathListener::FastPath(const Napi::CallbackInfo& info) { return ResultObject(info.Env(), fp_); }

void TcpFastPathListener::CloseHandle() {
  if (acceptWait_) UnregisterWaitEx(acceptWait_, INVALID_HANDLE_VALUE);  // waits for a running callback
  acceptWait_ = nullptr;
  if (rioSocket_ != INVALID_SOCKET) closesocket(rioSocket_);
  rioSocket_ = INVALID_SOCKET;
  if (acceptEvent_) ::CloseHandle(acceptEvent_);
  acceptEvent_ = nullptr;
  CloseAndFree(async_);
  CloseAndFree(tcp_);
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
