// The two halves of one SPSC byte ring. Each process holds exactly one half of each ring.
//
// A half keeps its own position privately (the producer its tail, the consumer its head) and never
// takes it from shared memory; the peer's index is validated on every read. Before storing its own
// index, a half checks that the shared copy still holds what it stored last: an overwrite is found
// by whichever side touches the index next, not healed silently by this side's next store. A
// corrupt or hostile peer can therefore make a call fail (-1), but can never make this side index
// outside its mapping.
#pragma once

#include <cstddef>
#include <cstdint>

#include "shm-layout.h"

namespace fastpath {

class RingProducer {
 public:
  void Init(RingControl* c, uint8_t* data, uint32_t size);
  // Copies as many of the n bytes as fit, without publishing them. Returns the count copied, or -1
  // if the consumer's head is impossible.
  int64_t Write(const uint8_t* p, size_t n);
  // Publishes everything written so far (stores tail). Returns 1 if the consumer was asleep and
  // must be woken (the flag is cleared so that one sleep costs one ring), 0 if not, -1 if the
  // shared tail is not the one this side stored last (overwritten by someone else).
  int Publish();
  // Asks the consumer to wake this side when it frees space. Returns 1 if space is free now (the
  // request is withdrawn: poll instead), 0 if armed, -1 if the consumer's head is impossible.
  int ArmWait();
  uint64_t published() const { return published_; }

 private:
  bool RefreshHead();
  RingControl* c_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t tail_ = 0;       // private: bytes written (published or not)
  uint64_t published_ = 0;  // private: the last tail stored to shared memory
  uint64_t head_ = 0;       // the consumer's head as last read and validated
};

class RingConsumer {
 public:
  void Init(RingControl* c, uint8_t* data, uint32_t size);
  // Bytes readable now (loads and validates the producer's tail), or -1 if the tail is impossible.
  int64_t Available();
  // Copies n bytes (n <= the last Available()) from the head into dst, across the wrap if needed.
  void Read(uint8_t* dst, size_t n);
  // Frees n bytes (stores head). Returns 1 if the producer waits for space and must be woken, 0 if
  // not, -1 if the shared head is not the one this side stored last (overwritten by someone else).
  int Commit(size_t n);
  // Tells the producer this side is about to sleep, then re-checks. Returns 0 if it may sleep,
  // >0 if data arrived in between (the flag is withdrawn), -1 if the tail is impossible.
  int64_t ArmSleep();
  void Disarm();

 private:
  RingControl* c_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t head_ = 0;  // private: bytes consumed
  uint64_t tail_ = 0;  // the producer's tail as last read and validated
};

}  // namespace fastpath
