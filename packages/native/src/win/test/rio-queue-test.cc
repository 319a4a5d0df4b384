// Unit tests of the RIO seam (rio-queue.h, rio-engine.h) against the fake RIO stack (rio-fake.h):
// the pool, request contexts, receive pausing, send slicing and queueing, back-pressure from a
// full receive window, short (partial) completions, end of stream, closing with requests
// outstanding, buffer exhaustion and admission, RIO_CORRUPT_CQ and RIONotify. Cross-compiled to
// rio-queue-test.exe and run under Wine by scripts/ci-windows.sh (Wine has no RIO), or on Windows.
// Writes one line per check to the file named by argv[1] (node.exe under Wine cannot write to a
// Unix pipe; this keeps the same convention) and exits 0 only when every check passed.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../rio-engine.h"
#include "../rio-fake.h"

using namespace fastpath::win::rio;

namespace {

FILE* out = nullptr;
int failures = 0, checks = 0;

void Check(bool ok, const char* what, int line) {
  checks++;
  if (!ok) failures++;
  std::fprintf(out, "%s %s (line %d)\n", ok ? "ok" : "FAIL", what, line);
}
#define CHECK(x) Check((x), #x, __LINE__)

struct Recorder : RioEvents {
  std::string received;
  uint64_t sent = 0;
  int sentCalls = 0, ends = 0;
  std::string error;
  RioSocketQueue* q = nullptr;
  bool pauseAfterFirst = false;
  void OnReceived(const uint8_t* d, uint32_t n) override {
    received.append(reinterpret_cast<const char*>(d), n);
    if (pauseAfterFirst && q) {
      std::string e;
      q->SetPaused(true, &e);
    }
  }
  void OnSent(uint32_t n) override {
    sent += n;
    sentCalls++;
  }
  void OnEnd() override { ends++; }
  void OnError(const std::string& why) override { error = why; }
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((i * 131 + seed + i / 7) & 255);
  return s;
}

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Polls until `done` or a bounded number of polls.
template <typename F>
int PollUntil(RioEngine& e, F done) {
  for (int i = 0; i < 10000; i++) {
    if (done()) return i;
    if (e.Poll(64) < 0) return -1;
  }
  return done() ? 10000 : -2;
}

void TestPool() {
  fake::Reset();
  std::string err;
  {
    RioBufferPool pool;
    CHECK(pool.Init(fake::Fns(), 2, 4096, 1024, &err));
    CHECK(fake::GetStats().registered == 2);
    CHECK(pool.slices() == 8 && pool.freeSlices() == 8);
    uint32_t a, b;
    CHECK(pool.Acquire(&a) && a == 0);
    CHECK(pool.Acquire(&b) && b == 1);
    RIO_BUF rb = pool.Buf(5, 4000);
    CHECK(rb.BufferId == reinterpret_cast<RIO_BUFFERID>(2) && rb.Offset == 1024 && rb.Length == 1024);
    for (int i = 0; i < 6; i++) pool.Acquire(&a);
    CHECK(!pool.Acquire(&a));  // exhausted
    pool.Release(3);
    pool.Release(3);  // double release ignored
    CHECK(pool.freeSlices() == 1);
    CHECK(pool.Acquire(&a) && a == 3);
    CHECK(pool.Grow(&err) && pool.buffers() == 3 && pool.slices() == 12 && pool.freeSlices() == 4);
    CHECK(pool.Acquire(&a) && a == 8);  // the new buffer's slices, lowest first
    CHECK(pool.Data(9) == pool.Data(8) + 1024);
  }
  CHECK(fake::GetStats().deregistered == 3);  // the destructor deregisters every buffer
  fake::Reset();
  fake::RegisterLimit(1);
  {
    RioBufferPool pool;
    CHECK(!pool.Init(fake::Fns(), 2, 4096, 1024, &err));
    CHECK(err.find("RIORegisterBuffer") != std::string::npos);
    CHECK(fake::GetStats().deregistered == 1);  // the one that succeeded is undone
  }
  RioFns partial = fake::Fns();
  partial.notify = nullptr;
  RioBufferPool pool;
  CHECK(!pool.Init(partial, 1, 4096, 1024, &err));
}

RioEngineConfig SmallConfig() {
  RioEngineConfig c;
  c.initialBuffers = 1;
  c.maxBuffers = 2;
  c.bufferBytes = 8 * 1024;
  c.sliceBytes = 1024;  // 8 slices a buffer
  c.receivesPerSocket = 2;
  c.sendsPerSocket = 2;
  return c;
}

// Two paired sockets on one polled engine, a 1 MiB transfer through a 4 KiB window, with the
// receiver paused half way: the window fills, sends stop completing, writes queue; resuming drains.
void TestTransferAndBackPressure() {
  fake::Reset();
  fake::Pair(1, 2);
  fake::SetWindow(4096);
  std::string err;
  RioEngine e;
  CHECK(e.Init(fake::Fns(), SmallConfig(), nullptr, &err));
  Recorder ra, rb;
  RioSocketQueue* a = e.Open(1, &ra, &err);
  RioSocketQueue* b = e.Open(2, &rb, &err);
  CHECK(a && b && e.openQueues() == 2);
  CHECK(b->receivesPosted() == 0);  // paused until reading
  CHECK(b->SetPaused(false, &err) && b->receivesPosted() == 2);
  CHECK((a->socket() == 1) && fake::GetStats().rqs == 2);
  std::string data = Pattern(1 << 20, 3);
  size_t written = 0;
  uint64_t maxQueued = 0;
  bool paused = false, sawFull = false;
  for (int i = 0; i < 20000 && rb.received.size() < data.size(); i++) {
    if (written < data.size() && a->queuedBytes() < 8192) {
      size_t n = std::min<size_t>(3000, data.size() - written);
      int64_t q = a->Write(U(data) + written, n, &err);
      if (q < 0) break;
      maxQueued = std::max<uint64_t>(maxQueued, static_cast<uint64_t>(q));
      written += n;
    }
    if (!paused && rb.received.size() > data.size() / 2) {
      b->SetPaused(true, &err);
      paused = true;
      for (int k = 0; k < 50; k++) e.Poll(64);
      sawFull = a->sendsPosted() == 2 && a->queuedBytes() > 0 && fake::GetStats().maxInbox == 4096;
      CHECK(b->heldReceives() <= 2 && b->receivesPosted() + b->heldReceives() <= 2);
      b->SetPaused(false, &err);
    }
    CHECK(a->sendsPosted() <= 2);
    if (e.Poll(64) < 0) break;
  }
  CHECK(rb.received == data);
  CHECK(sawFull);  // back-pressure: window full, both send slots held, the rest queued
  CHECK(maxQueued > 0 && a->idle() && ra.sent == data.size());
  CHECK(fake::GetStats().maxInbox <= 4096);
  // End of stream after the data; the receiver gets exactly one OnEnd.
  CHECK(fake::Fns().shutdownSend(1) == 0);
  PollUntil(e, [&] { return rb.ends > 0; });
  CHECK(rb.ends == 1 && b->ended());
  // Closing with receives outstanding: they complete aborted, then the queues are freed and every
  // slice is back in the pool.
  e.Close(a);
  e.Close(b);
  CHECK(e.openQueues() == 0);
  PollUntil(e, [&] { return e.queues() == 0; });
  CHECK(e.queues() == 0 && e.pool().freeSlices() == e.pool().slices());
  CHECK(ra.error.empty() && rb.error.empty());
}

void TestPauseHoldsInOrder() {
  fake::Reset();
  fake::Pair(1, 2);
  std::string err;
  RioEngine e;
  CHECK(e.Init(fake::Fns(), SmallConfig(), nullptr, &err));
  Recorder ra, rb;
  RioSocketQueue* a = e.Open(1, &ra, &err);
  RioSocketQueue* b = e.Open(2, &rb, &err);
  rb.q = b;
  rb.pauseAfterFirst = true;  // the data callback pauses reading (as JS may)
  b->SetPaused(false, &err);
  std::string data = Pattern(1500, 9);  // two slices: two receives complete
  a->Write(U(data), data.size(), &err);
  fake::Fns().shutdownSend(1);
  for (int i = 0; i < 10; i++) e.Poll(64);
  CHECK(rb.received.size() == 1024 && b->heldReceives() == 1 && rb.ends == 0);  // the rest held, EOF after it
  rb.pauseAfterFirst = false;
  b->SetPaused(false, &err);
  e.Poll(64);
  CHECK(rb.received == data && rb.ends == 1);
}

void TestShortSends() {
  fake::Reset();
  fake::Pair(1, 2);
  std::string err;
  RioEngine e;
  CHECK(e.Init(fake::Fns(), SmallConfig(), nullptr, &err));
  Recorder ra, rb;
  RioSocketQueue* a = e.Open(1, &ra, &err);
  RioSocketQueue* b = e.Open(2, &rb, &err);
  b->SetPaused(false, &err);
  // One send in flight, completed short: the remainder is posted again, the bytes arrive whole.
  std::string one = Pattern(900, 1);
  fake::ShortSendNext(100);
  a->Write(U(one), one.size(), &err);
  PollUntil(e, [&] { return a->idle(); });
  PollUntil(e, [&] { return rb.received.size() >= one.size(); });
  CHECK(rb.received == one && ra.error.empty() && ra.sent == 900 && ra.sentCalls == 2);
  CHECK(fake::GetStats().sends == 2);
  // Two sends in flight and the first completes short: re-posting would reorder bytes, so it fails.
  fake::ShortSendNext(10);
  std::string two = Pattern(2000, 2);
  a->Write(U(two), two.size(), &err);
  CHECK(a->sendsPosted() == 2);
  PollUntil(e, [&] { return !ra.error.empty(); });
  CHECK(ra.error.find("completed short (10 of 1024 bytes)") != std::string::npos && a->failed());
  CHECK(a->Write(U(two), 10, &err) == -1);
}

void TestErrorsAndCorruptCq() {
  fake::Reset();
  fake::Pair(1, 2);
  std::string err;
  RioEngine e;
  CHECK(e.Init(fake::Fns(), SmallConfig(), nullptr, &err));
  Recorder ra, rb;
  RioSocketQueue* a = e.Open(1, &ra, &err);
  RioSocketQueue* b = e.Open(2, &rb, &err);
  // A failed receive post is reported and gives its slice back.
  uint32_t freeBefore = e.pool().freeSlices();
  fake::FailReceives(1);
  CHECK(!b->SetPaused(false, &err) && err.find("RIOReceive failed: 10055") != std::string::npos);
  CHECK(e.pool().freeSlices() == freeBefore);
  // The peer going away: a waiting send fails with a reset, the survivor sees the end of stream.
  CHECK(a->SetPaused(false, &err));
  e.Close(b);
  e.Poll(64);
  CHECK(ra.ends == 1);
  a->Write(U(std::string(10, 'x')), 10, &err);
  PollUntil(e, [&] { return !ra.error.empty(); });
  CHECK(ra.error == "RIO send failed: status 10054");
  // RIO_CORRUPT_CQ: the poll says so, every open queue fails, and no socket is admitted after.
  Recorder rc;
  RioSocketQueue* c = e.Open(3, &rc, &err);
  CHECK(c != nullptr);
  fake::CorruptAll(true);
  CHECK(e.Poll(64) == -1 && e.corrupt());
  CHECK(rc.error.find("RIO_CORRUPT_CQ") != std::string::npos);
  CHECK(e.Open(4, &rc, &err) == nullptr && err.find("corrupt") != std::string::npos);
  // A completion queue that overflows turns corrupt, as RIO's does.
  fake::Reset();
  RioFns f = fake::Fns();
  RIO_CQ cq = f.createCompletionQueue(1, nullptr);
  RioBufferPool pool;
  CHECK(pool.Init(f, 1, 4096, 1024, &err));
  RioSocketQueue q1, q2;
  fake::Pair(5, 6);
  CHECK(q1.Open(f, &pool, 5, cq, 1, 2, &err) && q2.Open(f, &pool, 6, cq, 1, 1, &err));
  q1.Write(U(std::string(2048, 'y')), 2048, &err);  // two send completions into a queue of one
  CHECK(RioPollCompletions(f, cq, 16) == -1);
  f.closeCompletionQueue(cq);
}

void TestAdmission() {
  fake::Reset();
  std::string err;
  RioEngine e;
  RioEngineConfig c = SmallConfig();  // 4 slices a socket, 8 a buffer, at most 2 buffers
  CHECK(e.Init(fake::Fns(), c, nullptr, &err));
  CHECK(e.cqSize() == 16);  // every slice of the largest pool
  Recorder r;
  std::vector<RioSocketQueue*> qs;
  for (SOCKET s = 10; s < 14; s++) qs.push_back(e.Open(s, &r, &err));
  CHECK(qs[0] && qs[1] && qs[2] && qs[3] && e.pool().buffers() == 2);  // grew once
  CHECK(e.Open(14, &r, &err) == nullptr && err.find("buffer pool is full (2 registered buffers, 4 sockets)") != std::string::npos);
  for (auto* q : qs) q->SetPaused(false, &err);  // 8 receives posted: the pool's reservations hold
  CHECK(e.pool().freeSlices() == 8);
  e.Close(qs[0]);  // its two receives are aborted and come back
  e.Poll(64);
  CHECK(e.queues() == 3);
  CHECK(e.Open(15, &r, &err) != nullptr);  // its reservation is free again
}

void TestNotify() {
  fake::Reset();
  fake::Pair(1, 2);
  std::string err;
  HANDLE ev = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  RIO_NOTIFICATION_COMPLETION n{};
  n.Type = RIO_EVENT_COMPLETION;
  n.Event.EventHandle = ev;
  n.Event.NotifyReset = TRUE;
  RioEngine e;
  CHECK(e.Init(fake::Fns(), SmallConfig(), &n, &err));
  Recorder ra, rb;
  RioSocketQueue* a = e.Open(1, &ra, &err);
  RioSocketQueue* b = e.Open(2, &rb, &err);
  b->SetPaused(false, &err);
  CHECK(e.Arm() == 0);
  CHECK(e.Arm() == WSAEALREADY);  // one notification at a time
  CHECK(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT);
  a->Write(U(std::string("ping")), 4, &err);
  CHECK(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0);  // a completion arrived on an armed queue
  e.Poll(64);
  CHECK(rb.received == "ping");
  a->Write(U(std::string("pong")), 4, &err);  // completes while not armed: no signal yet
  CHECK(WaitForSingleObject(ev, 0) == WAIT_TIMEOUT);
  CHECK(e.Arm() == 0 && WaitForSingleObject(ev, 0) == WAIT_OBJECT_0);  // arming finds it at once
  e.Poll(64);
  CHECK(rb.received == "pingpong");
  e.Destroy();
  CloseHandle(ev);
}

}  // namespace

int main(int argc, char** argv) {
  out = argc > 1 ? std::fopen(argv[1], "w") : stdout;
  if (!out) return 2;
  TestPool();
  TestTransferAndBackPressure();
  TestPauseHoldsInOrder();
  TestShortSends();
  TestErrorsAndCorruptCq();
  TestAdmission();
  TestNotify();
  std::fprintf(out, "%s: %d checks, %d failed\n", failures == 0 ? "PASS" : "FAIL", checks, failures);
  std::fclose(out);
  return failures == 0 ? 0 : 1;
}
