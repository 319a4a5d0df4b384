#include "shm-segment.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <cstring>
#include <new>

namespace fastpath {

#ifndef _WIN32  // Windows: win/shm-segment-win.cc
bool RandomBytes(uint8_t* buf, size_t n) {
  size_t got = 0;
  for (int tries = 0; got < n && tries < 16; tries++) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
    else if (r < 0 && errno != EINTR) return false;
  }
  return got == n;
}

#endif

std::string ToHex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

static int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool FromHex(const std::string& s, uint8_t* out, size_t n) {
  if (s.size() != n * 2) return false;
  for (size_t i = 0; i < n; i++) {
    int hi = HexVal(s[2 * i]), lo = HexVal(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// "/fp-<8 hex: creator pid>-<24 hex random>", or the older "/fp-<32 hex random>". The dash keeps
// the two forms apart, so a sweeper never reads an old name's random digits as a pid.
bool ValidShmName(const std::string& name) {
  if (name.compare(0, 4, "/fp-") != 0) return false;
  if (name.size() == 4 + 32) {
    for (size_t i = 4; i < name.size(); i++) {
      if (HexVal(name[i]) < 0) return false;
    }
    return true;
  }
  if (name.size() != 4 + 8 + 1 + 24 || name[12] != '-') return false;
  for (size_t i = 4; i < name.size(); i++) {
    if (i != 12 && HexVal(name[i]) < 0) return false;
  }
  return true;
}

Segment::~Segment() {
  Unmap();
}

#ifndef _WIN32  // Windows: win/shm-segment-win.cc
bool Segment::Create(uint32_t ringBytes, OsError* err) {
  if (!ValidRingBytes(ringBytes)) return SetError(err, "EINVAL", "ringBytes must be a power of two between 4 KiB and 1 GiB");
  // The name carries the creator's pid, so that a later server of the same uid can remove it if
  // this process dies before the peer attached (and unlinked it). 96 random bits keep it
  // unguessable; the 128-bit key in the header is checked on attach as well.
  uint8_t rnd[12];
  if (!RandomBytes(rnd, sizeof rnd) || !RandomBytes(key_, kKeyBytes)) return SetErrno(err, "getrandom", "28 bytes");
  uint32_t pid = static_cast<uint32_t>(getpid());
  uint8_t pidBytes[4] = {static_cast<uint8_t>(pid >> 24), static_cast<uint8_t>(pid >> 16), static_cast<uint8_t>(pid >> 8), static_cast<uint8_t>(pid)};
  std::string name = "/fp-" + ToHex(pidBytes, sizeof pidBytes) + "-" + ToHex(rnd, sizeof rnd);
  // O_EXCL: a name that exists already (a collision, or someone else's object) is never reused.
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return SetErrno(err, "shm_open", name);
  name_ = name;
  unlinked_ = false;
  size_t size = SegmentBytes(ringBytes);
  // The umask may have cleared bits of 0600 but never adds any; make the mode exact anyway.
  // posix_fallocate (not only ftruncate) so that a full /dev/shm fails here with ENOSPC instead
  // of raising SIGBUS on first touch.
  int rc;
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
    SetErrno(err, "ftruncate", name);
  } else if ((rc = posix_fallocate(fd, 0, static_cast<off_t>(size))) != 0) {
    errno = rc;
    SetErrno(err, "posix_fallocate", name);
  } else {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      SetErrno(err, "mmap", name);
    } else {
      base_ = static_cast<uint8_t*>(p);
      size_ = size;
    }
  }
  close(fd);  // the mapping keeps the memory; no fd is left for anyone to ftruncate through
  if (!base_) {
    Unlink();
    return false;
  }
  ringBytes_ = ringBytes;
  // The file is zero-filled, which is the initial state of every atomic. Construct the header in
  // place, then publish the immutable fields. The peer only learns the name after this returns.
  SegmentHeader* h = new (base_) SegmentHeader();
  h->version.store(kVersion, std::memory_order_relaxed);
  h->headerBytes.store(kHeaderBytes, std::memory_order_relaxed);
  h->ringBytes.store(ringBytes, std::memory_order_relaxed);
  h->totalBytes.store(size, std::memory_order_relaxed);
  std::memcpy(h->key, key_, kKeyBytes);
  h->magic.store(kMagic, std::memory_order_release);
  return true;
}

bool Segment::Attach(const std::string& name, uint32_t ringBytes, const uint8_t key[kKeyBytes], OsError* err) {
  if (!ValidShmName(name)) return SetError(err, "EBADTOKEN", "invalid shm name in token");
  if (!ValidRingBytes(ringBytes)) return SetError(err, "EBADTOKEN", "invalid ringBytes in token");
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) return SetErrno(err, "shm_open", name);
  size_t size = SegmentBytes(ringBytes);
  struct stat st;
  bool ok = false;
  if (fstat(fd, &st) != 0) {
    SetErrno(err, "fstat", name);
  } else if (!S_ISREG(st.st_mode)) {
    SetError(err, "EPERM", "shm object " + name + " is not a regular shared-memory object");
  } else if (st.st_uid != geteuid()) {
    SetError(err, "EPERM", "shm object " + name + " is owned by uid " + std::to_string(st.st_uid) + ", not by this process's uid");
  } else if ((st.st_mode & 07777) != 0600) {
    SetError(err, "EPERM", "shm object " + name + " has mode " + std::to_string(st.st_mode & 07777) + " (octal must be 600)");
  } else if (static_cast<uint64_t>(st.st_size) != size) {
    SetError(err, "EBADTOKEN", "shm object " + name + " has the wrong size");
  } else {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      SetErrno(err, "mmap", name);
    } else {
      base_ = static_cast<uint8_t*>(p);
      size_ = size;
      ok = true;
    }
  }
  close(fd);
  if (!ok) return false;
  name_ = name;
  unlinked_ = false;
  ringBytes_ = ringBytes;
  std::memcpy(key_, key, kKeyBytes);
  SegmentHeader* h = header();
  if (h->magic.load(std::memory_order_acquire) != kMagic || h->version.load(std::memory_order_relaxed) != kVersion) {
    Unmap();
    return SetError(err, "EBADTOKEN", "shm object " + name + " is not a fastpath segment of version " + std::to_string(kVersion));
  }
  if (!HeaderIntact()) {
    Unmap();
    return SetError(err, "EBADTOKEN", "shm object " + name + " does not match the token (size or key)");
  }
  return true;
}

#endif

bool Segment::HeaderIntact() const {
  const SegmentHeader* h = header();
  if (!h) return false;
  return h->magic.load(std::memory_order_relaxed) == kMagic && h->version.load(std::memory_order_relaxed) == kVersion &&
         h->headerBytes.load(std::memory_order_relaxed) == kHeaderBytes &&
         h->ringBytes.load(std::memory_order_relaxed) == ringBytes_ &&
         h->totalBytes.load(std::memory_order_relaxed) == size_ && std::memcmp(h->key, key_, kKeyBytes) == 0;
}

#ifndef _WIN32  // Windows: win/shm-segment-win.cc
void Segment::Unlink() {
  if (unlinked_ || name_.empty()) return;
  unlinked_ = true;
  shm_unlink(name_.c_str());  // ENOENT: the peer was first, which is fine
}

void Segment::Unmap() {
  if (!base_) return;
  munmap(base_, size_);
  base_ = nullptr;
  size_ = 0;
}

#endif

}  // namespace fastpath
