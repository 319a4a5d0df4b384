// One shared-memory segment: POSIX shm_open + mmap, with the ownership checks done on attach.
// On Windows (win/shm-segment-win.cc): a named, pagefile-backed file mapping "Local\fastpath<name>"
// whose owner and DACL are the current user only; the token keeps the same "/fp-..." name.
#pragma once

#include <cstdint>
#include <string>

#include "os-error.h"
#include "shm-layout.h"

namespace fastpath {

// Fills buf with n bytes from getrandom(2). Returns false if the kernel has none to give.
bool RandomBytes(uint8_t* buf, size_t n);
std::string ToHex(const uint8_t* p, size_t n);
bool FromHex(const std::string& s, uint8_t* out, size_t n);

class Segment {
 public:
  Segment() = default;
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Side 0: creates a new segment with a random name, mode 0600, sized and zero-filled.
  bool Create(uint32_t ringBytes, OsError* err);
  // Side 1: opens `name`, checks owner, mode, size and header against the token, maps it.
  bool Attach(const std::string& name, uint32_t ringBytes, const uint8_t key[kKeyBytes], OsError* err);
  // Removes the name from /dev/shm (idempotent; the mapping stays valid).
  void Unlink();
  void Unmap();

  bool mapped() const { return base_ != nullptr; }
  SegmentHeader* header() const { return reinterpret_cast<SegmentHeader*>(base_); }
  uint8_t* data(int ring) const { return base_ + kHeaderBytes + static_cast<size_t>(ring) * ringBytes_; }
  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  uint32_t ringBytes() const { return ringBytes_; }
  const std::string& name() const { return name_; }
  const uint8_t* key() const { return key_; }

  // True if the immutable part of the header still holds what this side expects. A peer that
  // scribbles over it has broken the connection.
  bool HeaderIntact() const;

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t ringBytes_ = 0;
  std::string name_;
  bool unlinked_ = true;
  uint8_t key_[kKeyBytes] = {};
#ifdef _WIN32
  void* mapping_ = nullptr;  // the named file mapping; closing it removes the name ("unlink")
#endif
};

// A shm name as fastpath makes them: "/fp-" and 32 lowercase hex digits.
bool ValidShmName(const std::string& name);

}  // namespace fastpath
