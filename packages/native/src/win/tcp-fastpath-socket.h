// TcpFastPathSocket: one connection of the tcp-fastpath tier, as the JS class of that name. It is
// made by connect() (its own Winsock socket, the fast path attempted, handed to libuv) or by the
// listener's accept(). Data moves through RIO when the socket was made for it and the loop's RIO
// engine admits it, else as overlapped I/O on libuv's completion port. Defined in
// tcp-fastpath-socket.cc; the overview is in tcp-fastpath.cc.
#pragma once
#ifdef _WIN32
#include <winsock2.h>
#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emitter.h"
#include "loopback-fast-path.h"
#include "rio-loop.h"

namespace fastpath {
namespace win {

class TcpFastPathSocket : public Napi::ObjectWrap<TcpFastPathSocket>, public rio::RioEvents {
 public:
  static Napi::FunctionReference ctor;

  static Napi::Function Init(Napi::Env env);

  TcpFastPathSocket(const Napi::CallbackInfo& info);
  ~TcpFastPathSocket() override;

  // Called by the listener: takes the accepted connection. The listener's fast-path state applies.
  bool AcceptFrom(uv_stream_t* server, const FastPathResult& fp);
  // Called by a RIO listener: takes a socket accepted with accept() (it has WSA_FLAG_REGISTERED_IO).
  bool AdoptAccepted(SOCKET c, const FastPathResult& fp);

 private:
  struct WriteReq {
    uv_write_t req;
    std::vector<char> data;
    TcpFastPathSocket* owner;
  };

  // The JS methods, and the libuv callbacks they start.
  Napi::Value Connect(const Napi::CallbackInfo& info);
  static void OnConnect(uv_connect_t* req, int status);
  Napi::Value Write(const Napi::CallbackInfo& info);
  static void OnWrite(uv_write_t* req, int status);
  Napi::Value SetReading(const Napi::CallbackInfo& info);
  static void OnAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  Napi::Value Pending(const Napi::CallbackInfo& info);
  Napi::Value Io(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void StartShutdown();
  static void OnShutdown(uv_shutdown_t* req, int status);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value FastPath(const Napi::CallbackInfo& info);
  Napi::Value Addresses(const Napi::CallbackInfo& info);

  // The RIO data path.
  void StartIo();
  int64_t RioWrite(const char* p, size_t n);
  void OnReceived(const uint8_t* data, uint32_t n) override;
  void OnSent(uint32_t) override;
  void OnEnd() override;
  void OnError(const std::string& why) override;
  void RioShutdown();

  void Fail(const std::string& why, const char* code) { Finish(&why, code); }
  void Finish(const std::string* why, const char* code);
  void CloseHandle(void*);

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

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
