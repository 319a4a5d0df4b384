// A small error value for the OS-facing layers: an errno-style code plus a readable message.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

namespace fastpath {

struct OsError {
  std::string code;     // "ENOENT", "EPERM", ... or a fastpath code such as "EBADTOKEN"
  std::string message;  // human-readable, names the failing call and the object
};

inline const char* ErrnoName(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case ENOSPC: return "ENOSPC";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    case ENXIO: return "ENXIO";
    case ENOSYS: return "ENOSYS";
    default: return "EIO";
  }
}

// Fills err from errno after a failed call `what` on `object`; always returns false.
inline bool SetErrno(OsError* err, const char* what, const std::string& object) {
  int e = errno;
  if (err) {
    err->code = ErrnoName(e);
    err->message = std::string(what) + "(" + object + "): " + std::strerror(e);
  }
  return false;
}

inline bool SetError(OsError* err, const char* code, const std::string& message) {
  if (err) {
    err->code = code;
    err->message = message;
  }
  return false;
}

}  // namespace fastpath
