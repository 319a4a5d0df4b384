// A fake Registered I/O stack, in memory, for the RioFns seam. It behaves like RIO on TCP as far
// as the data path can tell: a send completes once its bytes are in the peer's receive window
// (back-pressure: a full window holds sends, and their completions, until the peer posts
// receives), a receive completes with whatever the window holds (a partial completion), a FIN
// (shutdownSend) or a closed peer gives a zero-byte receive after the data, closing a socket
// completes its outstanding requests with WSA_OPERATION_ABORTED, completions go through a
// bounded completion queue that turns corrupt (RIO_CORRUPT_CQ) when it overflows, and RIONotify
// signals the queue's event once a completion is there.
//
// Used by test/rio-queue-test.cc, and by the addon when a test calls rioUseFakeForTest(): Wine
// has no RIO, so this is how the tcp-fastpath sockets' RIO path (tcp-fastpath-socket.cc,
// tcp-fastpath-listener.cc) runs under Wine at all. Sockets are paired explicitly (Pair) or, in
// the addon, by address: two request queues whose sockets are the two ends of one TCP connection
// (getsockname/getpeername) exchange bytes. Single-threaded: every call comes from one event loop.
#pragma once
#ifdef _WIN32

#include "rio-queue.h"

namespace fastpath {
namespace win {
namespace rio {
namespace fake {

RioFns Fns();
// Forgets every buffer, queue and knob (tests only; the addon never resets).
void Reset();
void Pair(SOCKET a, SOCKET b);
void PairByAddress(bool on);
// The bytes a receiver's window holds before sends wait (default 64 KiB).
void SetWindow(uint32_t bytes);
// The next send moves only `bytes` and completes reporting that many (a short completion).
void ShortSendNext(uint32_t bytes);
// Every later RIODequeueCompletion answers RIO_CORRUPT_CQ.
void CorruptAll(bool on);
// The next `n` RIOReceive calls fail with WSAENOBUFS.
void FailReceives(int n);
// RIORegisterBuffer fails once this many buffers are registered.
void RegisterLimit(int n);

struct Stats {
  int registered = 0, deregistered = 0, sends = 0, receives = 0, notifies = 0, signals = 0, rqs = 0, cqs = 0;
  uint32_t maxInbox = 0;  // the largest a receive window ever got
};
Stats GetStats();

}  // namespace fake
}  // namespace rio
}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
