// The Windows-only part of the addon's JS face: the tcp-fastpath sockets (TcpFastPathListener,
// TcpFastPathSocket), probeLoopbackFastPath() and machineGuid(). Typed in src/native.ts.
#pragma once
#ifdef _WIN32
#include <napi.h>

namespace fastpath {
namespace win {
void InitWin(Napi::Env env, Napi::Object exports);
}  // namespace win
}  // namespace fastpath
#endif
