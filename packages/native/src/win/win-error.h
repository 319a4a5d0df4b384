// OsError from a Win32 or Winsock error number: a stable errno-style code plus the system's text.
#pragma once
#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>

#include <string>

#include "../os-error.h"

namespace fastpath {

inline const char* WinErrorName(DWORD e) {
  switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return "ENOENT";
    case ERROR_ACCESS_DENIED: return "EACCES";
    case ERROR_ALREADY_EXISTS: return "EEXIST";
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return "ENOMEM";
    case ERROR_DISK_FULL: return "ENOSPC";
    case ERROR_INVALID_PARAMETER: return "EINVAL";
    case ERROR_TOO_MANY_OPEN_FILES: return "EMFILE";
    case WSAEOPNOTSUPP: return "EOPNOTSUPP";
    case WSAEINVAL: return "EINVAL";
    case WSAECONNREFUSED: return "ECONNREFUSED";
    case WSAEADDRINUSE: return "EADDRINUSE";
    case WSAENOBUFS: return "ENOBUFS";
    default: return "EIO";
  }
}

// The system's message for e, one line, without the trailing period and newline.
inline std::string WinErrorText(DWORD e) {
  char buf[256] = {0};
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, e, 0, buf, sizeof buf, nullptr);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "error " + std::to_string(e) : s;
}

// Fills err from error number e after a failed call `what` on `object`; always returns false.
inline bool SetWinError(OsError* err, const char* what, const std::string& object, DWORD e) {
  if (err) {
    err->code = WinErrorName(e);
    err->message = std::string(what) + "(" + object + "): " + WinErrorText(e) + " (" + std::to_string(e) + ")";
  }
  return false;
}

inline bool SetLastWinError(OsError* err, const char* what, const std::string& object) {
  return SetWinError(err, what, object, GetLastError());
}

}  // namespace fastpath

#endif  // _WIN32
