#include "shm-ring.h"

#include <cstring>

namespace fastpath {

// Memory ordering, in short:
//  * Data: the producer copies bytes, then stores tail (release); the consumer loads tail
//    (acquire), then copies bytes out. The consumer stores head (release) after its copy, and the
//    producer loads head (acquire) before overwriting the space. Standard SPSC.
//  * Sleep handshake (a Dekker pattern, so it needs seq_cst, not acquire/release):
//      consumer: consumerAsleep = 1; then re-load tail     (ArmSleep)
//      producer: store tail;         then load consumerAsleep  (Publish)
//    With all four accesses seq_cst, at least one side sees the other's store: either the consumer
//    sees the new tail and does not sleep, or the producer sees the flag and rings the doorbell.
//    A missed wake-up is impossible; a spurious one is harmless.
//  * Space handshake, the mirror image: producer stores producerWaiting then re-loads head
//    (ArmWait); consumer stores head then loads producerWaiting (Commit).

void RingProducer::Init(RingControl* c, uint8_t* data, uint32_t size) {
  c_ = c;
  data_ = data;
  size_ = size;
  tail_ = published_ = head_ = 0;
}

// Loads the consumer's head and checks it: it may only move forward, and never past what was
// published. Anything else is a corrupt or hostile peer.
bool RingProducer::RefreshHead() {
  uint64_t h = c_->head.v.load(std::memory_order_seq_cst);
  if (h - head_ > published_ - head_) return false;  // unsigned: catches both h < head_ and h > published_
  head_ = h;
  return true;
}

int64_t RingProducer::Write(const uint8_t* p, size_t n) {
  uint64_t used = tail_ - head_;
  if (n > size_ - used) {
    if (!RefreshHead()) return -1;
    used = tail_ - head_;
  }
  uint64_t room = size_ - used;
  size_t take = n < room ? n : static_cast<size_t>(room);
  if (take == 0) return 0;
  size_t at = static_cast<size_t>(tail_ & (size_ - 1));
  size_t first = take < size_ - at ? take : static_cast<size_t>(size_ - at);
  std::memcpy(data_ + at, p, first);
  if (take > first) std::memcpy(data_, p + first, take - first);
  tail_ += take;
  return static_cast<int64_t>(take);
}

int RingProducer::Publish() {
  if (tail_ == published_) return 0;
  // Only this side stores the tail: anything else there was written by someone else.
  if (c_->tail.v.load(std::memory_order_relaxed) != published_) return -1;
  published_ = tail_;
  // seq_cst store: releases the bytes, and is ordered before the flag load below (Dekker).
  c_->tail.v.store(published_, std::memory_order_seq_cst);
  if (c_->consumerAsleep.v.load(std::memory_order_seq_cst) == 0) return 0;
  // Only the exchange that takes the flag from 1 to 0 rings: one doorbell per sleep.
  return c_->consumerAsleep.v.exchange(0, std::memory_order_seq_cst) != 0 ? 1 : 0;
}

int RingProducer::ArmWait() {
  c_->producerWaiting.v.store(1, std::memory_order_seq_cst);
  if (!RefreshHead()) return -1;  // seq_cst load: ordered after the flag store (Dekker)
  if (tail_ - head_ < size_) {
    c_->producerWaiting.v.store(0, std::memory_order_relaxed);
    return 1;
  }
  return 0;
}

void RingConsumer::Init(RingControl* c, uint8_t* data, uint32_t size) {
  c_ = c;
  data_ = data;
  size_ = size;
  head_ = tail_ = 0;
}

int64_t RingConsumer::Available() {
  uint64_t t = c_->tail.v.load(std::memory_order_acquire);
  // The tail may only move forward, and never more than one ring ahead of our head.
  if (t - tail_ > size_ - (tail_ - head_)) return -1;  // unsigned: catches t < tail_ too
  tail_ = t;
  return static_cast<int64_t>(t - head_);
}

void RingConsumer::Read(uint8_t* dst, size_t n) {
  // n <= tail_ - head_ <= size_, both validated: every byte read is inside this ring's data.
  size_t at = static_cast<size_t>(head_ & (size_ - 1));
  size_t first = n < size_ - at ? n : static_cast<size_t>(size_ - at);
  std::memcpy(dst, data_ + at, first);
  if (n > first) std::memcpy(dst + first, data_, n - first);
}

int RingConsumer::Commit(size_t n) {
  // Only this side stores the head: anything else there was written by someone else.
  if (c_->head.v.load(std::memory_order_relaxed) != head_) return -1;
  head_ += n;
  // seq_cst store: releases the space (our reads are done), and is ordered before the flag load.
  c_->head.v.store(head_, std::memory_order_seq_cst);
  if (c_->producerWaiting.v.load(std::memory_order_seq_cst) == 0) return 0;
  return c_->producerWaiting.v.exchange(0, std::memory_order_seq_cst) != 0 ? 1 : 0;
}

int64_t RingConsumer::ArmSleep() {
  c_->consumerAsleep.v.store(1, std::memory_order_seq_cst);
  // seq_cst load of tail, ordered after the flag store (Dekker, see above).
  uint64_t t = c_->tail.v.load(std::memory_order_seq_cst);
  if (t - tail_ > size_ - (tail_ - head_)) return -1;
  tail_ = t;
  if (t != head_) {
    c_->consumerAsleep.v.store(0, std::memory_order_relaxed);
    return static_cast<int64_t>(t - head_);
  }
  return 0;
}

void RingConsumer::Disarm() {
  c_->consumerAsleep.v.store(0, std::memory_order_relaxed);
}

}  // namespace fastpath
