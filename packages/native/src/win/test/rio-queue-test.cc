// Unit tests of the RIO seam (rio-queue.h) with an injected fake function table. Cross-compiled to
// rio-queue-test.exe and run under Wine by scripts/ci-windows.sh (Wine has no RIO), or on Windows.
// Writes one line per check to the file named by argv[1] (node.exe under Wine cannot write to a
// Unix pipe; this keeps the same convention) and exits 0 only when every check passed.
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "../rio-queue.h"

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

// The fake stack: records every call; completions are queued by the test.
struct Posted {
  RIO_RQ rq;
  RIO_BUF buf;
  uint64_t ctx;
  bool send;
};
struct Fake {
  int registered = 0, deregistered = 0;
  std::vector<PCHAR> regions;
  std::vector<Posted> posted;
  std::deque<RIORESULT> completions;
  bool failReceive = false, failRegisterAfter = false, corrupt = false;
  int registerLimit = 1 << 30;
  void* lastSocketContext = nullptr;
} fake;

RIO_BUFFERID PASCAL FakeRegister(PCHAR p, DWORD) {
  if (fake.registered >= fake.registerLimit) return kInvalidBufferId;
  fake.regions.push_back(p);
  return reinterpret_cast<RIO_BUFFERID>(static_cast<uintptr_t>(++fake.registered));
}
VOID PASCAL FakeDeregister(RIO_BUFFERID) { fake.deregistered++; }
RIO_CQ PASCAL FakeCreateCq(DWORD, RIO_NOTIFICATION_COMPLETION*) { return reinterpret_cast<RIO_CQ>(0x10); }
VOID PASCAL FakeCloseCq(RIO_CQ) {}
RIO_RQ PASCAL FakeCreateRq(SOCKET, ULONG, ULONG, ULONG, ULONG, RIO_CQ, RIO_CQ, PVOID ctx) {
  fake.lastSocketContext = ctx;
  return reinterpret_cast<RIO_RQ>(0x20);
}
BOOL PASCAL FakeReceive(RIO_RQ rq, RIO_BUF* b, ULONG, DWORD, PVOID ctx) {
  if (fake.failReceive) return FALSE;
  fake.posted.push_back({rq, *b, reinterpret_cast<uintptr_t>(ctx), false});
  return TRUE;
}
BOOL PASCAL FakeSend(RIO_RQ rq, RIO_BUF* b, ULONG, DWORD, PVOID ctx) {
  fake.posted.push_back({rq, *b, reinterpret_cast<uintptr_t>(ctx), true});
  return TRUE;
}
ULONG PASCAL FakeDequeue(RIO_CQ, RIORESULT* r, ULONG max) {
  if (fake.corrupt) return kCorruptCq;
  ULONG n = 0;
  while (n < max && !fake.completions.empty()) {
    r[n++] = fake.completions.front();
    fake.completions.pop_front();
  }
  return n;
}
int PASCAL FakeNotify(RIO_CQ) { return 0; }

RioFns Fns() {
  RioFns f;
  f.registerBuffer = FakeRegister;
  f.deregisterBuffer = FakeDeregister;
  f.createCompletionQueue = FakeCreateCq;
  f.closeCompletionQueue = FakeCloseCq;
  f.createRequestQueue = FakeCreateRq;
  f.receive = FakeReceive;
  f.send = FakeSend;
  f.dequeueCompletion = FakeDequeue;
  f.notify = FakeNotify;
  return f;
}

struct Recorder : RioEvents {
  std::string received;
  uint32_t sent = 0;
  bool ended = false;
  std::string error;
  void OnReceived(const uint8_t* d, uint32_t n) override { received.append(reinterpret_cast<const char*>(d), n); }
  void OnSent(uint32_t n) override { sent += n; }
  void OnEnd() override { ended = true; }
  void OnError(const std::string& why) override { error = why; }
} rec;

RioEvents* EventsFor(RioSocketQueue*) { return &rec; }

void Reset() {
  fake = Fake();
  rec = Recorder();
}

// The receive completion for a posted request, with `text` written into its slice as RIO would.
RIORESULT Received(RioBufferPool& pool, const Posted& p, const std::string& text) {
  uint32_t slice = static_cast<uint32_t>(p.ctx >> 1);
  std::memcpy(pool.Data(slice), text.data(), text.size());
  return RIORESULT{0, static_cast<ULONG>(text.size()), reinterpret_cast<uintptr_t>(fake.lastSocketContext), p.ctx};
}

void TestPool() {
  Reset();
  std::string err;
  {
    RioBufferPool pool;
    CHECK(pool.Init(Fns(), 2, 4096, 1024, &err));
    CHECK(fake.registered == 2);
    CHECK(pool.slices() == 8 && pool.freeSlices() == 8);
    uint32_t a, b;
    CHECK(pool.Acquire(&a) && a == 0);
    CHECK(pool.Acquire(&b) && b == 1);
    RIO_BUF rb = pool.Buf(5, 4000);
    CHECK(rb.BufferId == reinterpret_cast<RIO_BUFFERID>(2) && rb.Offset == 1024 && rb.Length == 1024);
    CHECK(pool.Data(5) == reinterpret_cast<uint8_t*>(fake.regions[1]) + 1024);
    for (int i = 0; i < 6; i++) pool.Acquire(&a);
    CHECK(!pool.Acquire(&a));  // exhausted
    pool.Release(3);
    pool.Release(3);  // double release ignored
    CHECK(pool.freeSlices() == 1);
    CHECK(pool.Acquire(&a) && a == 3);
  }
  CHECK(fake.deregistered == 2);  // the destructor deregisters every buffer
  Reset();
  fake.registerLimit = 1;
  {
    RioBufferPool pool;
    CHECK(!pool.Init(Fns(), 2, 4096, 1024, &err));
    CHECK(err.find("RIORegisterBuffer") != std::string::npos);
    CHECK(fake.deregistered == 1);  // the one that succeeded is undone
  }
  RioFns partial = Fns();
  partial.notify = nullptr;
  RioBufferPool pool;
  CHECK(!pool.Init(partial, 1, 4096, 1024, &err));
}

void TestReceive() {
  Reset();
  std::string err;
  RioBufferPool pool;
  CHECK(pool.Init(Fns(), 1, 8192, 1024, &err));
  RioSocketQueue q;
  CHECK(q.Open(Fns(), &pool, 1, reinterpret_cast<RIO_CQ>(0x10), 4, 2, &err));
  CHECK(fake.lastSocketContext == &q);
  CHECK(q.receivesPosted() == 4 && fake.posted.size() == 4 && pool.freeSlices() == 4);
  Posted first = fake.posted[0];
  CHECK(!first.send && (first.ctx & 1) == RioSocketQueue::kReceive && first.buf.Length == 1024);
  fake.completions.push_back(Received(pool, first, "hello"));
  CHECK(RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor) == 1);
  CHECK(rec.received == "hello");
  CHECK(q.receivesPosted() == 4 && fake.posted.size() == 5);  // re-posted at once
  CHECK(pool.freeSlices() == 4);
  // Two completions in one poll, delivered in order.
  fake.completions.push_back(Received(pool, fake.posted[1], " wor"));
  fake.completions.push_back(Received(pool, fake.posted[2], "ld"));
  CHECK(RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor) == 2);
  CHECK(rec.received == "hello world");
  // A batch bound: only `max` are taken per poll.
  fake.completions.push_back(Received(pool, fake.posted[3], "a"));
  fake.completions.push_back(Received(pool, fake.posted[4], "b"));
  CHECK(RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 1, EventsFor) == 1);
  CHECK(fake.completions.size() == 1);
  RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor);
  // End of stream: a zero-byte receive; nothing is re-posted after it.
  size_t before = fake.posted.size();
  RIORESULT eof{0, 0, reinterpret_cast<uintptr_t>(&q), fake.posted.back().ctx};
  fake.completions.push_back(eof);
  RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor);
  CHECK(rec.ended);
  CHECK(fake.posted.size() == before && q.receivesPosted() == 3);
  // An error status.
  RIORESULT bad{static_cast<LONG>(WSAECONNRESET), 0, reinterpret_cast<uintptr_t>(&q), fake.posted[5].ctx};
  fake.completions.push_back(bad);
  RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor);
  CHECK(rec.error.find("receive failed") != std::string::npos);
  // A corrupt completion queue.
  fake.corrupt = true;
  CHECK(RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor) == -1);
}

void TestSend() {
  Reset();
  std::string err;
  RioBufferPool pool;
  CHECK(pool.Init(Fns(), 1, 4096, 1024, &err));  // 4 slices
  RioSocketQueue q;
  CHECK(q.Open(Fns(), &pool, 1, reinterpret_cast<RIO_CQ>(0x10), 1, 2, &err));  // 1 receive, 2 sends
  std::string big(3000, 'x');
  big[1024] = 'y';
  // Two send slots: 2 KiB of the 3000 bytes are taken, split at the slice size.
  CHECK(q.Send(reinterpret_cast<const uint8_t*>(big.data()), big.size(), &err) == 2048);
  CHECK(q.sendsPosted() == 2 && q.bytesInFlight() == 2048);
  Posted s1 = fake.posted[1], s2 = fake.posted[2];
  CHECK(s1.send && s2.send && s1.buf.Length == 1024 && s2.buf.Length == 1024);
  CHECK(pool.Data(static_cast<uint32_t>(s2.ctx >> 1))[0] == 'y');  // the second slice starts at byte 1024
  CHECK(q.Send(reinterpret_cast<const uint8_t*>(big.data()) + 2048, 952, &err) == 0);  // no slot
  fake.completions.push_back(RIORESULT{0, 1024, reinterpret_cast<uintptr_t>(&q), s1.ctx});
  RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor);
  CHECK(rec.sent == 1024 && q.sendsPosted() == 1 && q.bytesInFlight() == 1024);
  CHECK(q.Send(reinterpret_cast<const uint8_t*>(big.data()) + 2048, 952, &err) == 952);
  CHECK(fake.posted.back().buf.Length == 952);
  // The pool runs dry before the slots do: 1 receive + 2 sends hold 3 of 4 slices.
  fake.completions.push_back(RIORESULT{0, 1024, reinterpret_cast<uintptr_t>(&q), s2.ctx});
  RioPollCompletions(Fns(), reinterpret_cast<RIO_CQ>(0x10), 16, EventsFor);
  CHECK(pool.freeSlices() == 2);
  // A failed receive post is reported and gives its slice back.
  fake.failReceive = true;
  RioSocketQueue q2;
  CHECK(!q2.Open(Fns(), &pool, 2, reinterpret_cast<RIO_CQ>(0x10), 1, 1, &err));
  CHECK(err.find("RIOReceive") != std::string::npos && pool.freeSlices() == 2);
}

}  // namespace

int main(int argc, char** argv) {
  out = argc > 1 ? std::fopen(argv[1], "w") : stdout;
  if (!out) return 2;
  TestPool();
  TestReceive();
  TestSend();
  std::fprintf(out, "%s: %d checks, %d failed\n", failures == 0 ? "PASS" : "FAIL", checks, failures);
  std::fclose(out);
  return failures == 0 ? 0 : 1;
}
