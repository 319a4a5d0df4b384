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
//
// This file: InitWin (win-addon.h), which exports the classes TcpFastPathSocket
// (tcp-fastpath-socket.cc) and TcpFastPathListener (tcp-fastpath-listener.cc), the functions
// probeLoopbackFastPath() and machineGuid(), and the test hook rioUseFakeForTest().
#ifdef _WIN32
#include <winsock2.h>
#include <napi.h>

#include <string>

#include "loopback-fast-path.h"
#include "rio-loop.h"
#include "tcp-fastpath-listener.h"
#include "tcp-fastpath-socket.h"
#include "tcp-fastpath-util.h"
#include "win-addon.h"
#include "win-error.h"

namespace fastpath {
namespace win {
namespace {

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