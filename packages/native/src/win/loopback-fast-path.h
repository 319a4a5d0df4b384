// SIO_LOOPBACK_FAST_PATH and the RIO function-table lookup: what a socket can get on this system.
#pragma once
#ifdef _WIN32

#include <winsock2.h>

#include <string>

namespace fastpath {
namespace win {

// The outcome of one attempt, as reported to JS (and in the `path` event's reason).
struct FastPathResult {
  bool attempted = false;
  bool enabled = false;
  int error = 0;        // WSAGetLastError() when it failed
  std::string code;     // "WSAEOPNOTSUPP", ...
  std::string message;  // the system's text
};

// WSAIoctl(SIO_LOOPBACK_FAST_PATH, 1) on a socket that is not yet connected or listening.
FastPathResult EnableLoopbackFastPath(SOCKET s);
// Whether WSAID_MULTIPLE_RIO yields a function table for a socket made with WSA_FLAG_REGISTERED_IO.
FastPathResult ProbeRio(SOCKET s);
// A Winsock error number's name ("WSAEOPNOTSUPP") or "WSA error <n>".
std::string WsaErrorName(int e);

}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
