#ifdef _WIN32
#include "win-security.h"

#include <aclapi.h>
#include <sddl.h>

#include <memory>
#include <vector>

#include "win-error.h"

namespace fastpath {

namespace {

// The TOKEN_USER of this process, in a buffer the caller keeps.
bool TokenUserSid(std::vector<uint8_t>* buf, PSID* sid, OsError* err) {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return SetLastWinError(err, "OpenProcessToken", "self");
  DWORD n = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &n);
  buf->resize(n ? n : 1);
  bool ok = n > 0 && GetTokenInformation(token, TokenUser, buf->data(), n, &n);
  DWORD e = GetLastError();
  CloseHandle(token);
  if (!ok) return SetWinError(err, "GetTokenInformation", "TokenUser", e);
  *sid = reinterpret_cast<TOKEN_USER*>(buf->data())->User.Sid;
  return true;
}

}  // namespace

std::string CurrentUserSid(OsError* err) {
  std::vector<uint8_t> buf;
  PSID sid = nullptr;
  if (!TokenUserSid(&buf, &sid, err)) return std::string();
  LPSTR s = nullptr;
  if (!ConvertSidToStringSidA(sid, &s)) {
    SetLastWinError(err, "ConvertSidToStringSid", "TokenUser");
    return std::string();
  }
  std::string out(s);
  LocalFree(s);
  return out;
}

UserOnlySecurity::~UserOnlySecurity() {
  if (sd_) LocalFree(sd_);
}

bool UserOnlySecurity::Init(OsError* err) {
  std::string sid = CurrentUserSid(err);
  if (sid.empty()) return false;
  // P: protected (no inherited entries); GA: generic all, for this user only.
  std::string sddl = "O:" + sid + "D:P(A;;GA;;;" + sid + ")";
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl.c_str(), SDDL_REVISION_1, &sd_, nullptr)) {
    return SetLastWinError(err, "ConvertStringSecurityDescriptorToSecurityDescriptor", sddl);
  }
  sa_.nLength = sizeof sa_;
  sa_.lpSecurityDescriptor = sd_;
  sa_.bInheritHandle = FALSE;
  return true;
}

bool OwnedByCurrentUser(HANDLE h, const std::string& what, OsError* err) {
  std::vector<uint8_t> buf;
  PSID me = nullptr;
  if (!TokenUserSid(&buf, &me, err)) return false;
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  DWORD rc = GetSecurityInfo(h, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, nullptr, nullptr, nullptr, &sd);
  if (rc != ERROR_SUCCESS) return SetWinError(err, "GetSecurityInfo", what, rc);
  bool same = owner && EqualSid(owner, me);
  LocalFree(sd);
  if (!same) return SetError(err, "EPERM", what + " is not owned by this process's user");
  return true;
}

}  // namespace fastpath
#endif  // _WIN32
