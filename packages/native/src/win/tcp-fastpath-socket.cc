// TcpFastPathSocket (tcp-fastpath-socket.h): connect, write, read, close, and the choice between
// the RIO data path (rio-loop.h) and libuv's overlapped I/O. The tier's overview is in
// tcp-fastpath.cc.
#ifdef _WIN32
#include "tcp-fastpath-socket.h"

#include <ws2tcpip.h>

#include <string>
#include <vector>

#include "tcp-fastpath-util.h"
#include "win-error.h"

namespace fastpath {
namespace win {
namespace {

int ModeArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsNumber()) {
    int m = info[i].As<Napi::Number>().Int32Value();
    if (m >= RioLoop::kInline && m <= RioLoop::kAdaptive) return m;
  }
  return RioLoop::kAdaptive;
}

}  // namespace

Napi::FunctionReference TcpFastPathSocket::ctor;

Napi::Function TcpFastPathSocket::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "TcpFastPathSocket",
                                 {InstanceMethod<&TcpFastPathSocket::Connect>("connect"), InstanceMethod<&TcpFastPathSocket::Write>("write"),
                                  InstanceMethod<&TcpFastPathSocket::SetReading>("setReading"), InstanceMethod<&TcpFastPathSocket::Pending>("pending"),
                                  InstanceMethod<&TcpFastPathSocket::Close>("close"), InstanceMethod<&TcpFastPathSocket::Destroy>("destroy"),
                                  InstanceMethod<&TcpFastPathSocket::FastPath>("fastPath"), InstanceMethod<&TcpFastPathSocket::Addresses>("addresses"),
                                  InstanceMethod<&TcpFastPathSocket::Io>("io")});
  ctor = Napi::Persistent(f);
  return f;
}

// new TcpFastPathSocket(callback, mode?): mode 0 inline, 1 worker, 2 adaptive (RIO completions).
TcpFastPathSocket::TcpFastPathSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpFastPathSocket>(info) {
  mode_ = ModeArg(info, 1);
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "TcpFastPathSocket(callback)").ThrowAsJavaScriptException();
    return;
  }
  em_.Init(info.Env(), info.This().As<Napi::Object>(), info[0].As<Napi::Function>(), "FastpathTcpFastPathSocket");
  tcp_ = new uv_tcp_t;
  uv_tcp_init(LoopOf(info.Env()), tcp_);
  tcp_->data = this;
  open_ = true;
}

TcpFastPathSocket::~TcpFastPathSocket() { CloseHandle(nullptr); }

bool TcpFastPathSocket::AcceptFrom(uv_stream_t* server, const FastPathResult& fp) {
  fp_ = fp;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp_)) != 0) return false;
  uv_tcp_nodelay(tcp_, 1);
  connected_ = true;
  return true;
}

bool TcpFastPathSocket::AdoptAccepted(SOCKET c, const FastPathResult& fp) {
  fp_ = fp;
  if (!tcp_ || uv_tcp_open(tcp_, static_cast<uv_os_sock_t>(c)) != 0) return false;
  uv_tcp_nodelay(tcp_, 1);
  connected_ = true;
  rioCapable_ = true;
  StartIo();
  return true;
}

// connect(port): a fresh socket on 127.0.0.1, the fast path attempted, then connect. CONNECTED
// (arg undefined) or CLOSED (arg: the error) follows.
Napi::Value TcpFastPathSocket::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int port = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  if (port <= 0 || port > 65535 || !open_ || connected_ || connecting_) {
    ThrowError(env, "EINVAL", "connect(port): a port from 1 to 65535, once");
    return env.Undefined();
  }
  std::string err;
  rioCapable_ = RioAvailable();
  SOCKET s = NewSocket(&fp_, &err, rioCapable_);
  if (s == INVALID_SOCKET) {
    ThrowError(env, "EIO", err);
    return env.Undefined();
  }
  int rc = uv_tcp_open(tcp_, static_cast<uv_os_sock_t>(s));
  if (rc != 0) {
    closesocket(s);
    ThrowError(env, uv_err_name(rc), std::string("uv_tcp_open: ") + uv_strerror(rc));
    return env.Undefined();
  }
  uv_tcp_nodelay(tcp_, 1);
  sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  auto* req = new uv_connect_t;
  req->data = this;
  rc = uv_tcp_connect(req, tcp_, reinterpret_cast<const sockaddr*>(&addr), OnConnect);
  if (rc != 0) {
    delete req;
    ThrowError(env, uv_err_name(rc), std::string("uv_tcp_connect: ") + uv_strerror(rc));
    return env.Undefined();
  }
  connecting_ = true;
  Ref();  // the request holds us
  return env.Undefined();
}

void TcpFastPathSocket::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpFastPathSocket*>(req->data);
  delete req;
  self->connecting_ = false;
  if (self->open_) {
    if (status == 0) {
      self->connected_ = true;
      self->StartIo();
      self->em_.Emit(kEvConnected);
    } else {
      self->Fail(std::string("connect: ") + uv_strerror(status), uv_err_name(status));
    }
  }
  self->Unref();
}

// write(bytes): tries the socket at once; what it does not take is copied and queued (overlapped).
// Returns the bytes still queued, or -1 when not open.
Napi::Value TcpFastPathSocket::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "write(Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!open_ || !connected_ || shutting_) return Napi::Number::New(env, -1);
  Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
  const char* p = reinterpret_cast<const char*>(a.Data());
  size_t n = a.ByteLength();
  if (rq_) return Napi::Number::New(env, static_cast<double>(RioWrite(p, n)));
  size_t off = 0;
  if (pending_ == 0) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(p), static_cast<unsigned>(n));
    int r = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &b, 1);
    if (r > 0) off = static_cast<size_t>(r);
    else if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS) {
      Fail(std::string("write: ") + uv_strerror(r), uv_err_name(r));
      return Napi::Number::New(env, -1);
    }
  }
  if (off < n) {
    auto* w = new WriteReq;
    w->data.assign(p + off, p + n);
    w->owner = this;
    uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &b, 1, OnWrite);
    if (r != 0) {
      delete w;
      Fail(std::string("write: ") + uv_strerror(r), uv_err_name(r));
      return Napi::Number::New(env, -1);
    }
    pending_ += n - off;
    blocked_ = true;
  }
  return Napi::Number::New(env, static_cast<double>(pending_));
}

void TcpFastPathSocket::OnWrite(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  TcpFastPathSocket* self = w->owner;
  size_t n = w->data.size();
  delete w;
  if (!self) return;
  self->pending_ -= n < self->pending_ ? n : self->pending_;
  if (!self->open_) return;
  if (status != 0) {
    if (status != UV_ECANCELED) self->Fail(std::string("write: ") + uv_strerror(status), uv_err_name(status));
    return;
  }
  if (self->pending_ == 0 && self->blocked_) {
    self->blocked_ = false;
    if (self->shutting_) self->StartShutdown();
    else self->em_.Emit(kEvDrain);
  }
}

Napi::Value TcpFastPathSocket::SetReading(const Napi::CallbackInfo& info) {
  bool on = info.Length() > 0 && info[0].ToBoolean().Value();
  if (open_ && connected_ && on != reading_ && rq_) {
    reading_ = on;
    std::string err;
    if (!rq_->SetPaused(!on, &err)) Fail(err, "ERIO");
    else if (rioLoop_) rioLoop_->Kick();
  } else if (open_ && connected_ && on != reading_) {
    reading_ = on;
    if (on) uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), OnAlloc, OnRead);
    else uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
  }
  return info.Env().Undefined();
}

void TcpFastPathSocket::OnAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) {
  auto* self = static_cast<TcpFastPathSocket*>(h->data);
  buf->base = self->readBuf_;
  buf->len = sizeof self->readBuf_;
}

void TcpFastPathSocket::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpFastPathSocket*>(s->data);
  if (nread > 0) {
    Napi::HandleScope scope(self->em_.env());
    Napi::Buffer<char> b = Napi::Buffer<char>::Copy(self->em_.env(), buf->base, static_cast<size_t>(nread));
    self->em_.Emit(kEvData, b);
  } else if (nread == UV_EOF) {
    self->Finish(nullptr, nullptr);
  } else if (nread < 0) {
    self->Fail(std::string("read: ") + uv_strerror(static_cast<int>(nread)), uv_err_name(static_cast<int>(nread)));
  }
}

Napi::Value TcpFastPathSocket::Pending(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(pending_)); }

// io(): { io: 'rio' | 'iocp', reason? }: how this socket's data moves, and why not RIO.
Napi::Value TcpFastPathSocket::Io(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("io", Napi::String::New(env, io_));
  if (!ioReason_.empty()) o.Set("reason", Napi::String::New(env, ioReason_));
  if (io_ == "rio") o.Set("fake", Napi::Boolean::New(env, UsingFakeRio()));
  return o;
}

// Connected: RIO when the socket was made for it and the loop's engine admits it; else IOCP.
void TcpFastPathSocket::StartIo() {
  if (!rioCapable_) {
    std::string why;
    if (!ProcessRioFns(&why)) ioReason_ = why;
    return;
  }
  std::string why;
  rioLoop_ = RioLoop::For(em_.env(), LoopOf(em_.env()), mode_, &why);
  if (rioLoop_) rq_ = rioLoop_->Open(static_cast<SOCKET>(tcp_->socket), this, &why);
  if (rq_) {
    io_ = "rio";
  } else {
    ioReason_ = why + "; IOCP is used for this socket";
  }
}

int64_t TcpFastPathSocket::RioWrite(const char* p, size_t n) {
  std::string err;
  int64_t q = rq_->Write(reinterpret_cast<const uint8_t*>(p), n, &err);
  if (q < 0) {
    Fail("write: " + err, "ERIO");
    return -1;
  }
  pending_ = static_cast<size_t>(q);
  if (q > 0) blocked_ = true;
  if (rioLoop_) rioLoop_->Kick();
  return q;
}

// RioEvents, on the loop thread from RioLoop's poll.
void TcpFastPathSocket::OnReceived(const uint8_t* data, uint32_t n) {
  if (!open_) return;
  Napi::HandleScope scope(em_.env());
  em_.Emit(kEvData, Napi::Buffer<char>::Copy(em_.env(), reinterpret_cast<const char*>(data), n));
}
void TcpFastPathSocket::OnSent(uint32_t) {
  if (!open_ || !rq_) return;
  pending_ = static_cast<size_t>(rq_->queuedBytes());
  if (shutting_) {
    if (rq_->idle()) RioShutdown();
    return;
  }
  if (pending_ == 0 && blocked_) {
    blocked_ = false;
    em_.Emit(kEvDrain);
  }
}
void TcpFastPathSocket::OnEnd() { Finish(nullptr, nullptr); }
void TcpFastPathSocket::OnError(const std::string& why) { Fail(why, "ERIO"); }

// All sent: FIN (shutdown(SD_SEND) through the seam), then close, as the IOCP path does.
void TcpFastPathSocket::RioShutdown() {
  std::string why;
  const rio::RioFns* fns = ProcessRioFns(&why);
  if (fns && tcp_) fns->shutdownSend(static_cast<SOCKET>(tcp_->socket));
  Finish(nullptr, nullptr);
}

// Graceful: the queued bytes go first, then a FIN, then the handle closes and CLOSED follows.
Napi::Value TcpFastPathSocket::Close(const Napi::CallbackInfo& info) {
  if (open_ && !shutting_) {
    shutting_ = true;
    if (!connected_) Finish(nullptr, nullptr);
    else if (rq_) {
      if (rq_->idle()) RioShutdown();  // else OnSent does it once the sends completed
    } else if (pending_ == 0) StartShutdown();
  }
  return info.Env().Undefined();
}

void TcpFastPathSocket::StartShutdown() {
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(tcp_), OnShutdown) != 0) {
    delete req;
    Finish(nullptr, nullptr);
    return;
  }
  Ref();
}

void TcpFastPathSocket::OnShutdown(uv_shutdown_t* req, int /*status*/) {
  auto* self = static_cast<TcpFastPathSocket*>(req->data);
  delete req;
  self->Finish(nullptr, nullptr);
  self->Unref();
}

// At once, no callback.
Napi::Value TcpFastPathSocket::Destroy(const Napi::CallbackInfo& info) {
  if (open_) {
    open_ = false;
    CloseHandle(nullptr);
    em_.Release();
  }
  return info.Env().Undefined();
}

Napi::Value TcpFastPathSocket::FastPath(const Napi::CallbackInfo& info) { return ResultObject(info.Env(), fp_); }

Napi::Value TcpFastPathSocket::Addresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  sockaddr_storage ss;
  int len = sizeof ss;
  char host[64];
  if (uv_tcp_getsockname(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, host, sizeof host);
    o.Set("local", std::string(host) + ":" + std::to_string(ntohs(a->sin_port)));
  }
  len = sizeof ss;
  if (uv_tcp_getpeername(tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    uv_ip4_name(a, host, sizeof host);
    o.Set("remote", std::string(host) + ":" + std::to_string(ntohs(a->sin_port)));
  }
  return o;
}

// Closes the handle and reports CLOSED once (arg: the error message, undefined when clean).
void TcpFastPathSocket::Finish(const std::string* why, const char* code) {
  if (!open_) return;
  open_ = false;
  CloseHandle(nullptr);
  Napi::HandleScope scope(em_.env());
  napi_value arg = nullptr;
  if (why) {
    std::string m = code ? std::string(code) + ": " + *why : *why;
    arg = Napi::String::New(em_.env(), m);
  }
  em_.Emit(kEvClosed, arg);
  em_.Release();
}

void TcpFastPathSocket::CloseHandle(void*) {
  if (rq_) {
    // No more events; the stack aborts the outstanding requests when the socket closes, and the
    // engine frees the queue once they have completed.
    rq_->SetEvents(nullptr);
    if (rioLoop_) rioLoop_->Close(rq_);
    rq_ = nullptr;
  }
  // Outstanding write requests keep pointing at us: they are cancelled by the close and must not
  // call back into a freed object (CloseAndFree clears the handle's data pointer).
  CloseAndFree(tcp_);
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
