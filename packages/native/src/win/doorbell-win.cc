// Doorbells on Windows: two named auto-reset Events. Ringing is SetEvent; a ring while nobody
// sleeps stays set until the next wait consumes it, like a byte left in the FIFO, so Drain has
// nothing to do. The event loop cannot wait on an Event handle, so a registered thread-pool wait
// sends the channel's uv_async (two wake-ups, as a helper thread costs on Linux: documented in
// docs/windows.md).
#ifdef _WIN32
#include <windows.h>

#include <string>

#include "../doorbell.h"
#include "../shm-segment.h"
#include "win-error.h"
#include "win-security.h"

namespace fastpath {

static bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool ValidDoorbellDir(const std::string& dir) {
  const std::string tag = "fastpath-bell-";
  if (dir.size() != tag.size() + 8 + 1 + 24 || dir.compare(0, tag.size(), tag) != 0) return false;
  for (size_t i = tag.size(); i < dir.size(); i++) {
    if (i == tag.size() + 8) {
      if (dir[i] != '-') return false;
    } else if (!IsHex(dir[i])) {
      return false;
    }
  }
  return true;
}

static std::wstring EventName(const std::string& dir, int side) {
  std::string k = "Local\\" + dir + (side == 0 ? "-0" : "-1");
  return std::wstring(k.begin(), k.end());
}

Doorbells::~Doorbells() {
  Close();
}

bool Doorbells::Create(const std::string& /*base*/, OsError* err) {
  uint8_t rnd[12];
  if (!RandomBytes(rnd, sizeof rnd)) return SetError(err, "EIO", "BCryptGenRandom failed");
  uint32_t pid = static_cast<uint32_t>(GetCurrentProcessId());
  uint8_t pidBytes[4] = {static_cast<uint8_t>(pid >> 24), static_cast<uint8_t>(pid >> 16), static_cast<uint8_t>(pid >> 8), static_cast<uint8_t>(pid)};
  std::string dir = "fastpath-bell-" + ToHex(pidBytes, sizeof pidBytes) + "-" + ToHex(rnd, sizeof rnd);
  UserOnlySecurity sec;
  if (!sec.Init(err)) return false;
  for (int s = 0; s < 2; s++) {
    HANDLE h = CreateEventW(sec.attributes(), FALSE, FALSE, EventName(dir, s).c_str());
    if (!h || GetLastError() == ERROR_ALREADY_EXISTS) {
      if (h) {
        CloseHandle(h);
        SetError(err, "EEXIST", "event " + dir + " exists already");
      } else {
        SetLastWinError(err, "CreateEvent", dir);
      }
      Close();
      return false;
    }
    ev_[s] = h;
  }
  dir_ = dir;
  unlinked_ = false;
  return true;
}

bool Doorbells::Open(const std::string& dir, OsError* err) {
  if (!ValidDoorbellDir(dir)) return SetError(err, "EBADTOKEN", "invalid doorbell name in token");
  for (int s = 0; s < 2; s++) {
    HANDLE h = OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE | READ_CONTROL, FALSE, EventName(dir, s).c_str());
    if (!h) {
      SetLastWinError(err, "OpenEvent", dir);
      Close();
      return false;
    }
    ev_[s] = h;
    if (!OwnedByCurrentUser(h, "event " + dir, err)) {
      Close();
      return false;
    }
  }
  dir_ = dir;
  unlinked_ = false;
  return true;
}

// The names go with the last handle, and both sides keep theirs while the channel lives.
void Doorbells::Unlink() {
  unlinked_ = true;
}

static VOID CALLBACK OnSignalled(PVOID arg, BOOLEAN /*timedOut*/) {
  uv_async_send(static_cast<uv_async_t*>(arg));
}

bool Doorbells::Watch(int side, uv_async_t* async, OsError* err) {
  Unwatch();
  HANDLE w = nullptr;
  if (!ev_[side] || !RegisterWaitForSingleObject(&w, static_cast<HANDLE>(ev_[side]), OnSignalled, async, INFINITE, WT_EXECUTEINWAITTHREAD)) {
    return SetLastWinError(err, "RegisterWaitForSingleObject", dir_);
  }
  wait_ = w;
  return true;
}

void Doorbells::Unwatch() {
  if (!wait_) return;
  UnregisterWaitEx(static_cast<HANDLE>(wait_), INVALID_HANDLE_VALUE);  // waits for a running callback
  wait_ = nullptr;
}

void Doorbells::Close() {
  Unwatch();
  for (int s = 0; s < 2; s++) {
    if (ev_[s]) CloseHandle(static_cast<HANDLE>(ev_[s]));
    ev_[s] = nullptr;
  }
}

void Doorbells::Ring(int side) const {
  if (ev_[side]) SetEvent(static_cast<HANDLE>(ev_[side]));
}

void Doorbells::Drain(int /*side*/) const {}

}  // namespace fastpath
#endif  // _WIN32
