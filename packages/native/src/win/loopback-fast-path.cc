#ifdef _WIN32
#include "loopback-fast-path.h"

#include <mstcpip.h>

#include "rio-abi.h"
#include "win-error.h"

namespace fastpath {
namespace win {

#ifdef SIO_LOOPBACK_FAST_PATH
static_assert(SIO_LOOPBACK_FAST_PATH == rio::kSioLoopbackFastPath, "mstcpip.h and our constant agree");
#endif

std::string WsaErrorName(int e) {
  switch (e) {
    case WSAEOPNOTSUPP: return "WSAEOPNOTSUPP";
    case WSAEINVAL: return "WSAEINVAL";
    case WSAENOTSOCK: return "WSAENOTSOCK";
    case WSAEFAULT: return "WSAEFAULT";
    case WSAEISCONN: return "WSAEISCONN";
    case WSAENOPROTOOPT: return "WSAENOPROTOOPT";
    case WSAEACCES: return "WSAEACCES";
    default: return "WSA error " + std::to_string(e);
  }
}

static FastPathResult Failed(int e) {
  FastPathResult r;
  r.attempted = true;
  r.error = e;
  r.code = WsaErrorName(e);
  r.message = WinErrorText(static_cast<DWORD>(e));
  return r;
}

FastPathResult EnableLoopbackFastPath(SOCKET s) {
  int on = 1;
  DWORD bytes = 0;
  if (WSAIoctl(s, rio::kSioLoopbackFastPath, &on, sizeof on, nullptr, 0, &bytes, nullptr, nullptr) == SOCKET_ERROR) {
    return Failed(WSAGetLastError());
  }
  FastPathResult r;
  r.attempted = true;
  r.enabled = true;
  return r;
}

FastPathResult ProbeRio(SOCKET s) {
  GUID id = rio::kWsaidMultipleRio;
  rio::RIO_EXTENSION_FUNCTION_TABLE table = {};
  table.cbSize = sizeof table;
  DWORD bytes = 0;
  if (WSAIoctl(s, rio::kSioGetMultipleExtensionFunctionPointer, &id, sizeof id, &table, sizeof table, &bytes, nullptr, nullptr) == SOCKET_ERROR) {
    return Failed(WSAGetLastError());
  }
  FastPathResult r;
  r.attempted = true;
  r.enabled = table.RIOReceive != nullptr && table.RIOSend != nullptr && table.RIODequeueCompletion != nullptr;
  if (!r.enabled) r.message = "the RIO function table came back incomplete";
  return r;
}

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
