// Layout of one fastpath shared-memory segment (docs/fast-path.md, "Segment layout").
//
//   offset 0      SegmentHeader (one page, kHeaderBytes)
//   kHeaderBytes  data of ring 0 (written by the creator, side 0; read by the attacher, side 1)
//   + ringBytes   data of ring 1 (written by the attacher, side 1; read by the creator, side 0)
//
// Every field either side reads from the peer is untrusted: it is validated before use, and the
// private copies (ring size, own head/tail) are what indexing is based on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace fastpath {

constexpr uint32_t kMagic = 0x48535046;  // "FPSH" little-endian
constexpr uint32_t kVersion = 1;
constexpr size_t kCacheLine = 64;
constexpr size_t kHeaderBytes = 4096;
constexpr size_t kKeyBytes = 16;
constexpr uint32_t kMinRingBytes = 4096;
constexpr uint32_t kMaxRingBytes = 1u << 30;

static_assert(std::atomic<uint64_t>::is_always_lock_free, "shm needs lock-free 64-bit atomics");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "shm needs lock-free 32-bit atomics");

// A value alone on its own cache line, so the producer's and the consumer's stores never share one.
template <typename T>
struct alignas(kCacheLine) Line {
  std::atomic<T> v;
  char pad[kCacheLine - sizeof(std::atomic<T>)];
};

// Control block of one single-producer/single-consumer byte ring. Positions are free-running
// 64-bit byte counters (they never wrap in practice); the index into the data is pos & (size-1).
struct RingControl {
  Line<uint64_t> tail;              // bytes ever written; stored by the producer only
  Line<uint64_t> head;              // bytes ever consumed; stored by the consumer only
  Line<uint32_t> consumerAsleep;    // 1: the consumer sleeps on its doorbell, ring it after writing
  Line<uint32_t> producerWaiting;   // 1: the producer has bytes queued, ring it after consuming
};

struct SegmentHeader {
  // Line 0: written once by the creator before the token is handed out; never changes after.
  alignas(kCacheLine) std::atomic<uint32_t> magic;
  std::atomic<uint32_t> version;
  std::atomic<uint32_t> headerBytes;
  std::atomic<uint32_t> ringBytes;
  std::atomic<uint64_t> totalBytes;
  uint8_t key[kKeyBytes];  // random; must equal the token's key
  // Line 1: lifecycle. attached is set by side 1 once it holds everything; closed[s] by side s.
  alignas(kCacheLine) std::atomic<uint32_t> attached;
  std::atomic<uint32_t> closed[2];
  // Lines 2..9: the two rings.
  RingControl ring[2];
};

static_assert(sizeof(SegmentHeader) <= kHeaderBytes, "header must fit its page");
static_assert(offsetof(SegmentHeader, ring) % kCacheLine == 0, "rings must be line-aligned");

// Byte offsets, exported to JS for tests that play a hostile peer.
constexpr size_t kOffMagic = offsetof(SegmentHeader, magic);
constexpr size_t kOffRingBytes = offsetof(SegmentHeader, ringBytes);
inline size_t OffTail(int r) { return offsetof(SegmentHeader, ring) + r * sizeof(RingControl) + offsetof(RingControl, tail); }
inline size_t OffHead(int r) { return offsetof(SegmentHeader, ring) + r * sizeof(RingControl) + offsetof(RingControl, head); }

inline size_t SegmentBytes(uint32_t ringBytes) { return kHeaderBytes + 2 * static_cast<size_t>(ringBytes); }

inline bool ValidRingBytes(uint64_t n) {
  return n >= kMinRingBytes && n <= kMaxRingBytes && (n & (n - 1)) == 0;
}

}  // namespace fastpath
