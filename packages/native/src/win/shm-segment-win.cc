// Segment on Windows: a pagefile-backed named file mapping. The token's name stays the Linux form
// ("/fp-<8 hex pid>-<24 hex random>"); the kernel object is "Local\fastpath" + that name, in this
// session's namespace. Its owner is the current user and its protected DACL grants that user
// alone (win-security.h): the analogue of shm_open(..., 0600). Attaching checks the owner, the
// size of the view and the header, as on Linux.
//
// "Unlink": a named kernel object loses its name when its last handle is closed, while mapped
// views keep the memory. So both sides close their mapping handle as soon as both hold a view:
// after that nobody can open the name, and nothing is left when the processes end.
#ifdef _WIN32
#include <windows.h>
#include <bcrypt.h>

#include <cstring>
#include <new>

#include "../shm-segment.h"
#include "win-error.h"
#include "win-security.h"

namespace fastpath {

bool RandomBytes(uint8_t* buf, size_t n) {
  return BCryptGenRandom(nullptr, buf, static_cast<ULONG>(n), BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}

static std::wstring KernelName(const std::string& name) {
  std::string k = "Local\\fastpath" + name;  // name is validated: ASCII "/fp-..." only
  return std::wstring(k.begin(), k.end());
}

bool Segment::Create(uint32_t ringBytes, OsError* err) {
  if (!ValidRingBytes(ringBytes)) return SetError(err, "EINVAL", "ringBytes must be a power of two between 4 KiB and 1 GiB");
  uint8_t rnd[12];
  if (!RandomBytes(rnd, sizeof rnd) || !RandomBytes(key_, kKeyBytes)) return SetError(err, "EIO", "BCryptGenRandom failed");
  uint32_t pid = static_cast<uint32_t>(GetCurrentProcessId());
  uint8_t pidBytes[4] = {static_cast<uint8_t>(pid >> 24), static_cast<uint8_t>(pid >> 16), static_cast<uint8_t>(pid >> 8), static_cast<uint8_t>(pid)};
  std::string name = "/fp-" + ToHex(pidBytes, sizeof pidBytes) + "-" + ToHex(rnd, sizeof rnd);
  UserOnlySecurity sec;
  if (!sec.Init(err)) return false;
  uint64_t size = SegmentBytes(ringBytes);
  // SEC_COMMIT: the whole size is charged against the commit limit now, so a full system fails
  // here rather than on first touch.
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, sec.attributes(), PAGE_READWRITE | SEC_COMMIT, static_cast<DWORD>(size >> 32),
                                static_cast<DWORD>(size), KernelName(name).c_str());
  if (!h) return SetLastWinError(err, "CreateFileMapping", name);
  if (GetLastError() == ERROR_ALREADY_EXISTS) {  // someone else's object: never reuse it (O_EXCL)
    CloseHandle(h);
    return SetError(err, "EEXIST", "file mapping " + name + " exists already");
  }
  void* p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, static_cast<SIZE_T>(size));
  if (!p) {
    SetLastWinError(err, "MapViewOfFile", name);
    CloseHandle(h);
    return false;
  }
  mapping_ = h;
  name_ = name;
  unlinked_ = false;
  base_ = static_cast<uint8_t*>(p);
  size_ = static_cast<size_t>(size);
  ringBytes_ = ringBytes;
  // A new mapping is zero-filled: every atomic starts at 0. Publish the immutable fields.
  SegmentHeader* hd = new (base_) SegmentHeader();
  hd->version.store(kVersion, std::memory_order_relaxed);
  hd->headerBytes.store(kHeaderBytes, std::memory_order_relaxed);
  hd->ringBytes.store(ringBytes, std::memory_order_relaxed);
  hd->totalBytes.store(size, std::memory_order_relaxed);
  std::memcpy(hd->key, key_, kKeyBytes);
  hd->magic.store(kMagic, std::memory_order_release);
  return true;
}

bool Segment::Attach(const std::string& name, uint32_t ringBytes, const uint8_t key[kKeyBytes], OsError* err) {
  if (!ValidShmName(name)) return SetError(err, "EBADTOKEN", "invalid shm name in token");
  if (!ValidRingBytes(ringBytes)) return SetError(err, "EBADTOKEN", "invalid ringBytes in token");
  HANDLE h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE | READ_CONTROL, FALSE, KernelName(name).c_str());
  if (!h) return SetLastWinError(err, "OpenFileMapping", name);
  if (!OwnedByCurrentUser(h, "file mapping " + name, err)) {
    CloseHandle(h);
    return false;
  }
  size_t size = SegmentBytes(ringBytes);
  void* p = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);  // the whole section
  if (!p) {
    SetLastWinError(err, "MapViewOfFile", name);
    CloseHandle(h);
    return false;
  }
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(p, &mbi, sizeof mbi) == 0 || mbi.RegionSize != size) {
    UnmapViewOfFile(p);
    CloseHandle(h);
    return SetError(err, "EBADTOKEN", "file mapping " + name + " has the wrong size");
  }
  mapping_ = h;
  base_ = static_cast<uint8_t*>(p);
  size_ = size;
  name_ = name;
  unlinked_ = false;
  ringBytes_ = ringBytes;
  std::memcpy(key_, key, kKeyBytes);
  SegmentHeader* hd = header();
  if (hd->magic.load(std::memory_order_acquire) != kMagic || hd->version.load(std::memory_order_relaxed) != kVersion) {
    Unmap();
    return SetError(err, "EBADTOKEN", "file mapping " + name + " is not a fastpath segment of version " + std::to_string(kVersion));
  }
  if (!HeaderIntact()) {
    Unmap();
    return SetError(err, "EBADTOKEN", "file mapping " + name + " does not match the token (size or key)");
  }
  return true;
}

void Segment::Unlink() {
  if (unlinked_ || name_.empty()) return;
  unlinked_ = true;
  if (mapping_) CloseHandle(static_cast<HANDLE>(mapping_));
  mapping_ = nullptr;
}

void Segment::Unmap() {
  if (base_) UnmapViewOfFile(base_);
  base_ = nullptr;
  size_ = 0;
  if (mapping_) CloseHandle(static_cast<HANDLE>(mapping_));
  mapping_ = nullptr;
  unlinked_ = true;
}

}  // namespace fastpath
#endif  // _WIN32
