// The tcp-fastpath tier's sockets. fastpath makes the Winsock sockets itself, so that it can set
// SIO_LOOPBACK_FAST_PATH where Microsoft requires it: on the listener before it accepts, and on the
// connecting socket before connect. It sets no other socket option except TCP_NODELAY (which
// Microsoft lists as compatible). Then it hands the socket to libuv (uv_tcp_open): reads, writes,
// accepts and connects run as overlapped I/O on the event loop's I/O completion port, and their
// completions reach JS from the loop, with no helper thread. When the ioctl fails (WSAEOPNOTSUPP
// on Wine, on Windows before 8, or when a WFP callout refuses it) the socket still works as plain
// Winsock TCP and `fastPath()` says why; the tier reports that reason (src/tcp-fastpath-tier.ts).
//
// Registered I/O: when WSAID_MULTIPLE_RIO yields a function table (or a test switched on the fake
// stack, rioUseFakeForTest), sockets are made with WSA_FLAG_REGISTERED_IO, the listener accepts
// them itself (accept() keeps the flag; libuv's AcceptEx sockets would not have it), and once
// connected their sends and receives go through RIO (rio-loop.h: registered buffer pool, a request
// queue per socket, a completion queue polled or notified on the loop). libuv still owns the
// socket handle (connect, close). Without RIO, or when the pool refuses a socket, I/O is IOCP as
// above, and `io()` says which and why.
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <napi.h>
#include <uv.h>

#include <cstring>
#include <string>
#include <vector>

#include "loopback-fast-path.h"
#include "rio-loop.h"
#include "win-addon.h"
#include "win-error.h"

namespace fastpath {
namespace win {
namespace {

enum Event : int32_t { kEvData = 0, kEvDrain = 3, kEvClosed = 4, kEvConnected = 5, kEvConnection = 6 };

Napi::Object ResultObject(Napi::Env env, const FastPathResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("attempted", Napi::Boolean::New(env, r.attempted));
  o.Set("enabled", Napi::Boolean::New(env, r.enabled));
  if (r.error) o.Set("error", Napi::Number::New(env, r.error));
  if (!r.code.empty()) o.Set("code", Napi::String::New(env, r.code));
  if (!r.message.empty()) o.Set("message", Napi::String::New(env, r.message));
  return o;
}

// A new overlapped IPv4 TCP socket with the fast path attempted on it.
SOCKET NewSocket(FastPathResult* fp, std::string* err, bool registeredIo) {
  DWORD flags = WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT | (registeredIo ? WSA_FLAG_REGISTERED_IO : 0);
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, flags);
  if (s == INVALID_SOCKET) {
    *err = "WSASocket: " + WsaErrorName(WSAGetLastError());
    return s;
  }
  *fp = EnableLoopbackFastPath(s);
  return s;
}

void ThrowError(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
}

// Calls the JS callback of a wrapped object from a libuv callback: cb(kind, arg).
class Emitter {
 public:
  void Init(Napi::Env env, Napi::Object self, Napi::Function cb, const char* name) {
    env_ = env;
    self_ = Napi::Persistent(self);  // strong while the handle is open: never collected mid-I/O
    cb_ = Napi::Persistent(cb);
    ctx_ = new Napi::AsyncContext(env, name, self);
  }
  void Emit(int32_t kind, napi_value arg = nullptr) {
    if (!ctx_) return;
    Napi::HandleScope scope(env_);
    napi_value argv[2] = {Napi::Number::New(env_, kind), arg ? arg : env_.Undefined()};
    napi_value recv = self_.Value();
    napi_value result;
    napi_status s = napi_make_callback(env_, *ctx_, recv, cb_.Value(), 2, argv, &result);
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env_, &exc);
      napi_fatal_exception(env_, exc);
    }
  }
  void Release() {
    delete ctx_;
    ctx_ = nullptr;
    cb_.Reset();
    self_.Reset();
  }
  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_{nullptr};
  Napi::ObjectReference self_;
  Napi::FunctionReference cb_;
  Napi::AsyncContext* ctx_ = nullptr;
};

uv_loop_t* LoopOf(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

// Whether new sockets should be made for RIO (the table, or the fake, is there).
bool RioAvailable() {
  std::string why;
  return ProcessRioFns(&why) != nullptr;
}

int ModeArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsNumber()) {
    int m = info[i].As<Napi::Number>().Int32Value();
    if (m >= RioLoop::kInline && m <= RioLoop::kAdaptive) return m;
  }
  return RioLoop::kAdaptive;
}

class TcpFastPathSocket : public Napi::ObjectWrap<TcpFastPathSocket>, public rio::RioEvents {
 public:
  static Napi::FunctionReference ctor;

  static Napi::Function Init(Napi::Env env) {
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
  TcpFastPathSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpFastPathSocket>(info) {
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

  ~TcpFastPathSocket() override { CloseHandle(nullptr); }

  // Called by the listener: takes the accepted connection. The listener's fast-path state applies.
  bool AcceptFrom(uv_stream_t* server, const FastPathResult& fp) {
    fp_ = fp;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(tcp_)) != 0) return false;
    uv_tcp_nodelay(tcp_, 1);
    connected_ = true;
    return true;
  }

  // Called by a RIO listener: takes a socket accepted with accept() (it has WSA_FLAG_REGISTERED_IO).
  bool AdoptAccepted(SOCKET c, const FastPathResult& fp) {
    fp_ = fp;
    if (!tcp_ || uv_tcp_open(tcp_, static_cast<uv_os_sock_t>(c)) != 0) return false;
    uv_tcp_nodelay(tcp_, 1);
    connected_ = true;
    rioCapable_ = true;
    StartIo();
    return true;
  }

 private:
  struct WriteReq {
    uv_write_t req;
    std::vector<char> data;
    TcpFastPathSocket* owner;
  };

  // connect(port): a fresh socket on 127.0.0.1, the fast path attempted, then connect. CONNECTED
  // (arg undefined) or CLOSED (arg: the error) follows.
  Napi::Value Connect(const Napi::CallbackInfo& info) {
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

  static void OnConnect(uv_connect_t* req, int status) {
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
  Napi::Value Write(const Napi::CallbackInfo& info) {
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

  static void OnWrite(uv_write_t* req, int status) {
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

  Napi::Value SetReading(const Napi::CallbackInfo& info) {
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

  static void OnAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) {
    auto* self = static_cast<TcpFastPathSocket*>(h->data);
    buf->base = self->readBuf_;
    buf->len = sizeof self->readBuf_;
  }

  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
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

  Napi::Value Pending(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(pending_)); }

  // io(): { io: 'rio' | 'iocp', reason? }: how this socket's data moves, and why not RIO.
  Napi::Value Io(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("io", Napi::String::New(env, io_));
    if (!ioReason_.empty()) o.Set("reason", Napi::String::New(env, ioReason_));
    if (io_ == "rio") o.Set("fake", Napi::Boolean::New(env, UsingFakeRio()));
    return o;
  }

  // Connected: RIO when the socket was made for it and the loop's engine admits it; else IOCP.
  void StartIo() {
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

  int64_t RioWrite(const char* p, size_t n) {
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
  void OnReceived(const uint8_t* data, uint32_t n) override {
    if (!open_) return;
    Napi::HandleScope scope(em_.env());
    em_.Emit(kEvData, Napi::Buffer<char>::Copy(em_.env(), reinterpret_cast<const char*>(data), n));
  }
  void OnSent(uint32_t) override {
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
  void OnEnd() override { Finish(nullptr, nullptr); }
  void OnError(const std::string& why) override { Fail(why, "ERIO"); }

  // All sent: FIN (shutdown(SD_SEND) through the seam), then close, as the IOCP path does.
  void RioShutdown() {
    std::string why;
    const rio::RioFns* fns = ProcessRioFns(&why);
    if (fns && tcp_) fns->shutdownSend(static_cast<SOCKET>(tcp_->socket));
    Finish(nullptr, nullptr);
  }

  // Graceful: the queued bytes go first, then a FIN, then the handle closes and CLOSED follows.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (open_ && !shutting_) {
      shutting_ = true;
      if (!connected_) Finish(nullptr, nullptr);
      else if (rq_) {
        if (rq_->idle()) RioShutdown();  // else OnSent does it once the sends completed
      } else if (pending_ == 0) StartShutdown();
    }
    return info.Env().Undefined();
  }

  void StartShutdown() {
    auto* req = new uv_shutdown_t;
    req->data = this;
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(tcp_), OnShutdown) != 0) {
      delete req;
      Finish(nullptr, nullptr);
      return;
    }
    Ref();
  }

  static void OnShutdown(uv_shutdown_t* req, int /*status*/) {
    auto* self = static_cast<TcpFastPathSocket*>(req->data);
    delete req;
    self->Finish(nullptr, nullptr);
    self->Unref();
  }

  // At once, no callback.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (open_) {
      open_ = false;
      CloseHandle(nullptr);
      em_.Release();
    }
    return info.Env().Undefined();
  }

  Napi::Value FastPath(const Napi::CallbackInfo& info) { return ResultObject(info.Env(), fp_); }

  Napi::Value Addresses(const Napi::CallbackInfo& info) {
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

  void Fail(const std::string& why, const char* code) { Finish(&why, code); }

  // Closes the handle and reports CLOSED once (arg: the error message, undefined when clean).
  void Finish(const std::string* why, const char* code) {
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

  void CloseHandle(void*) {
    if (rq_) {
      // No more events; the stack aborts the outstanding requests when the socket closes, and the
      // engine frees the queue once they have completed.
      rq_->SetEvents(nullptr);
      if (rioLoop_) rioLoop_->Close(rq_);
      rq_ = nullptr;
    }
    if (!tcp_) return;
    uv_tcp_t* h = tcp_;
    tcp_ = nullptr;
    h->data = nullptr;
    // Outstanding write requests keep pointing at us: they are cancelled by the close and must not
    // call back into a freed object.
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* hh) { delete reinterpret_cast<uv_tcp_t*>(hh); });
  }

  Emitter em_;
  uv_tcp_t* tcp_ = nullptr;
  FastPathResult fp_;
  bool open_ = false, connected_ = false, connecting_ = false, reading_ = false, shutting_ = false, blocked_ = false;
  size_t pending_ = 0;
  int mode_ = RioLoop::kAdaptive;
  bool rioCapable_ = false;
  RioLoop* rioLoop_ = nullptr;
  rio::RioSocketQueue* rq_ = nullptr;
  std::string io_ = "iocp", ioReason_;
  char readBuf_[64 * 1024];
};

Napi::FunctionReference TcpFastPathSocket::ctor;

class TcpFastPathListener : public Napi::ObjectWrap<TcpFastPathListener> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TcpFastPathListener",
                       {InstanceMethod<&TcpFastPathListener::Listen>("listen"), InstanceMethod<&TcpFastPathListener::Accept>("accept"),
                        InstanceMethod<&TcpFastPathListener::Close>("close"), InstanceMethod<&TcpFastPathListener::FastPath>("fastPath")});
  }

  // new TcpFastPathListener(callback): callback(6) for each incoming connection; JS then calls
  // accept(new TcpFastPathSocket(cb)) from inside that callback.
  TcpFastPathListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpFastPathListener>(info) {
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(info.Env(), "TcpFastPathListener(callback)").ThrowAsJavaScriptException();
      return;
    }
    em_.Init(info.Env(), info.This().As<Napi::Object>(), info[0].As<Napi::Function>(), "FastpathTcpFastPathListener");
  }

  ~TcpFastPathListener() override { CloseHandle(); }

  // RIO: the listener accepts with accept(), which gives sockets that keep WSA_FLAG_REGISTERED_IO
  // (libuv's AcceptEx would hand over sockets made without it). FD_ACCEPT signals an Event; a
  // registered thread-pool wait wakes the loop with a uv_async, and the loop accepts.
  bool ListenRio(SOCKET s, std::string* err) {
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

  static void CALLBACK OnAcceptEvent(PVOID ctx, BOOLEAN) { uv_async_send(static_cast<uv_async_t*>(ctx)); }

  static void OnAcceptable(uv_async_t* h) {
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

 private:
  // listen(): binds 127.0.0.1:0 with the fast path attempted first. Returns the port.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
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

  static void OnConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<TcpFastPathListener*>(server->data);
    if (!self || status != 0) return;
    self->em_.Emit(kEvConnection);
  }

  // accept(socket): inside the connection callback. Returns false if there was nothing to accept.
  Napi::Value Accept(const Napi::CallbackInfo& info) {
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

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    em_.Release();
    return info.Env().Undefined();
  }

  Napi::Value FastPath(const Napi::CallbackInfo& info) { return ResultObject(info.Env(), fp_); }

  void CloseHandle() {
    if (acceptWait_) UnregisterWaitEx(acceptWait_, INVALID_HANDLE_VALUE);  // waits for a running callback
    acceptWait_ = nullptr;
    if (rioSocket_ != INVALID_SOCKET) closesocket(rioSocket_);
    rioSocket_ = INVALID_SOCKET;
    if (acceptEvent_) ::CloseHandle(acceptEvent_);
    acceptEvent_ = nullptr;
    if (async_) {
      async_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* hh) { delete reinterpret_cast<uv_async_t*>(hh); });
      async_ = nullptr;
    }
    if (!tcp_) return;
    uv_tcp_t* h = tcp_;
    tcp_ = nullptr;
    h->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* hh) { delete reinterpret_cast<uv_tcp_t*>(hh); });
  }

  Emitter em_;
  uv_tcp_t* tcp_ = nullptr;
  FastPathResult fp_;
  SOCKET rioSocket_ = INVALID_SOCKET, accepted_ = INVALID_SOCKET;
  HANDLE acceptEvent_ = nullptr, acceptWait_ = nullptr;
  uv_async_t* async_ = nullptr;
};

// probeLoopbackFastPath(): { fastPath: result, rio: result } from one throw-away socket.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_REGISTERED_IO | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) {
    ThrowError(env, "EIO", "WSASocket: " + WsaErrorName(WSAGetLastError()));
    return env.Undefined();
  }
  o.Set("fastPath", ResultObject(env, EnableLoopbackFastPath(s)));
  o.Set("rio", ResultObject(env, ProbeRio(s)));
  closesocket(s);
  return o;
}

// machineGuid(): HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid, or null.
Napi::Value MachineGuid(const Napi::CallbackInfo& info) {
  wchar_t buf[128];
  DWORD size = sizeof buf;
  LSTATUS rc = RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid", RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY,
                            nullptr, buf, &size);
  if (rc != ERROR_SUCCESS) return info.Env().Null();
  std::string out;
  for (const wchar_t* p = buf; *p; p++) out.push_back(*p < 128 ? static_cast<char>(*p) : '?');
  return Napi::String::New(info.Env(), out);
}

}  // namespace

void InitWin(Napi::Env env, Napi::Object exports) {
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa);  // libuv has done it already; counted, harmless
  exports.Set("TcpFastPathSocket", TcpFastPathSocket::Init(env));
  exports.Set("TcpFastPathListener", TcpFastPathListener::Init(env));
  exports.Set("probeLoopbackFastPath", Napi::Function::New(env, Probe, "probeLoopbackFastPath"));
  exports.Set("machineGuid", Napi::Function::New(env, MachineGuid, "machineGuid"));
  // Test only: tcp-fastpath sockets created afterwards use the in-memory fake RIO stack.
  exports.Set("rioUseFakeForTest", Napi::Function::New(
                                       env, [](const Napi::CallbackInfo& info) {
                                         UseFakeRio();
                                         return info.Env().Undefined();
                                       },
                                       "rioUseFakeForTest"));
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
