// Kernel objects only this user can open: a security descriptor whose owner is the current user's
// SID and whose protected DACL grants that SID alone full access (the Windows analogue of the
// 0600/0700 modes on Linux), and the owner check an attacher does before trusting an object.
#pragma once
#ifdef _WIN32

#include <windows.h>

#include <string>

#include "../os-error.h"

namespace fastpath {

// Owns a self-relative security descriptor made from SDDL "O:<sid>D:P(A;;GA;;;<sid>)".
class UserOnlySecurity {
 public:
  UserOnlySecurity() = default;
  ~UserOnlySecurity();
  UserOnlySecurity(const UserOnlySecurity&) = delete;
  UserOnlySecurity& operator=(const UserOnlySecurity&) = delete;
  bool Init(OsError* err);
  SECURITY_ATTRIBUTES* attributes() { return &sa_; }

 private:
  PSECURITY_DESCRIPTOR sd_ = nullptr;
  SECURITY_ATTRIBUTES sa_ = {};
};

// The current process user's SID as a string ("S-1-5-21-..."); empty on failure.
std::string CurrentUserSid(OsError* err);
// True when the kernel object's owner is the current user. `what` names it in the error.
bool OwnedByCurrentUser(HANDLE h, const std::string& what, OsError* err);

}  // namespace fastpath

#endif  // _WIN32
