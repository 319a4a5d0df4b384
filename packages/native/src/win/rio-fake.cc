#ifdef _WIN32
#include "rio-fake.h"

#include <ws2tcpip.h>

#include <algorithm>
#include <deque>
#include <map>
#include <string>

namespace fastpath {
namespace win {
namespace rio {
namespace fake {
namespace {

struct Cq {
  std::deque<RIORESULT> q;
  uint32_t size = 0;
  bool armed = false, overflow = false, notifies = false;
  RIO_NOTIFICATION_COMPLETION n{};
};

struct Req {
  RIO_BUF buf;
  uint64_t ctx;
  uint32_t done = 0, limit = 0;
};

struct Rq {
  SOCKET s = INVALID_SOCKET;
  void* socketCtx = nullptr;
  Cq* cq = nullptr;
  std::deque<Req> recvs, sends;
  std::deque<uint8_t> inbox;
  Rq* peer = nullptr;
  bool fin = false, closed = false, peerGone = false, eofDelivered = false;
  std::string local, remote;
};

struct State {
  std::map<uintptr_t, uint8_t*> regions;
  uintptr_t nextId = 1;
  std::map<SOCKET, Rq*> rqs;
  std::map<SOCKET, SOCKET> pairs;
  bool byAddress = false, corrupt = false;
  uint32_t window = 64 * 1024, shortNext = 0;
  int failReceives = 0, registerLimit = 1 << 30, liveRegions = 0;
  Stats stats;
};
State* st = new State();  // never freed: the addon keeps it for the process

uint8_t* Data(const RIO_BUF& b) {
  auto it = st->regions.find(reinterpret_cast<uintptr_t>(b.BufferId));
  return it == st->regions.end() ? nullptr : it->second + b.Offset;
}

void Post(Rq* rq, uint64_t ctx, LONG status, ULONG bytes) {
  Cq* cq = rq->cq;
  if (cq->q.size() >= cq->size) cq->overflow = true;  // real RIO: the queue is corrupt
  cq->q.push_back(RIORESULT{status, bytes, reinterpret_cast<uintptr_t>(rq->socketCtx), ctx});
  if (cq->armed) {
    cq->armed = false;
    st->stats.signals++;
    if (cq->n.Type == RIO_EVENT_COMPLETION) SetEvent(cq->n.Event.EventHandle);
    else PostQueuedCompletionStatus(cq->n.Iocp.IocpHandle, 0, reinterpret_cast<ULONG_PTR>(cq->n.Iocp.CompletionKey),
                                    static_cast<LPOVERLAPPED>(cq->n.Iocp.Overlapped));
  }
}

// Receives of `b` take what its window holds; then the end of stream, once, after the data.
void Deliver(Rq* b) {
  while (!b->recvs.empty() && !b->inbox.empty()) {
    Req r = b->recvs.front();
    b->recvs.pop_front();
    uint32_t n = std::min<uint32_t>(r.buf.Length, static_cast<uint32_t>(b->inbox.size()));
    std::copy(b->inbox.begin(), b->inbox.begin() + n, Data(r.buf));
    b->inbox.erase(b->inbox.begin(), b->inbox.begin() + n);
    Post(b, r.ctx, 0, n);
  }
  bool peerDone = b->peerGone || (b->peer && b->peer->fin && b->peer->sends.empty());
  if (peerDone && b->inbox.empty() && !b->recvs.empty() && !b->eofDelivered) {
    Req r = b->recvs.front();
    b->recvs.pop_front();
    b->eofDelivered = true;
    Post(b, r.ctx, 0, 0);
  }
}

// Moves a's sends into its peer's window, completing each send once all its bytes are there.
void Move(Rq* a) {
  Rq* b = a->peer;
  while (!a->sends.empty()) {
    Req& s = a->sends.front();
    if (a->peerGone) {
      Post(a, s.ctx, WSAECONNRESET, 0);
      a->sends.pop_front();
      continue;
    }
    if (!b) break;
    uint32_t room = st->window - std::min<uint32_t>(st->window, static_cast<uint32_t>(b->inbox.size()));
    if (room == 0) break;
    uint32_t take = std::min(room, s.limit - s.done);
    const uint8_t* p = Data(s.buf) + s.done;
    b->inbox.insert(b->inbox.end(), p, p + take);
    st->stats.maxInbox = std::max<uint32_t>(st->stats.maxInbox, static_cast<uint32_t>(b->inbox.size()));
    s.done += take;
    if (s.done == s.limit) {
      Post(a, s.ctx, 0, s.done);
      a->sends.pop_front();
    }
  }
  if (b) Deliver(b);
}

void Pump(Rq* a) {
  Move(a);
  if (a->peer) Move(a->peer);
  Deliver(a);
}

std::string Name(const sockaddr_storage& ss) {
  char host[64] = "";
  if (ss.ss_family != AF_INET) return std::string();
  auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
}

void Link(Rq* a, Rq* b) {
  a->peer = b;
  b->peer = a;
  Pump(a);
}

void FindPeer(Rq* rq) {
  if (st->byAddress) {
    sockaddr_storage ss;
    int len = sizeof ss;
    if (getsockname(rq->s, reinterpret_cast<sockaddr*>(&ss), &len) == 0) rq->local = Name(ss);
    len = sizeof ss;
    if (getpeername(rq->s, reinterpret_cast<sockaddr*>(&ss), &len) == 0) rq->remote = Name(ss);
    if (rq->local.empty() || rq->remote.empty()) return;
    for (auto& [s, other] : st->rqs) {
      if (other != rq && !other->peer && !other->closed && other->local == rq->remote && other->remote == rq->local) return Link(rq, other);
    }
    return;
  }
  auto it = st->pairs.find(rq->s);
  if (it == st->pairs.end()) return;
  auto o = st->rqs.find(it->second);
  if (o != st->rqs.end() && !o->second->peer) Link(rq, o->second);
}

RIO_BUFFERID PASCAL Register(PCHAR p, DWORD) {
  if (st->liveRegions >= st->registerLimit) {
    WSASetLastError(WSAENOBUFS);
    return kInvalidBufferId;
  }
  st->liveRegions++;
  st->stats.registered++;
  uintptr_t id = st->nextId++;
  st->regions[id] = reinterpret_cast<uint8_t*>(p);
  return reinterpret_cast<RIO_BUFFERID>(id);
}

VOID PASCAL Deregister(RIO_BUFFERID id) {
  if (st->regions.erase(reinterpret_cast<uintptr_t>(id))) st->liveRegions--;
  st->stats.deregistered++;
}

RIO_CQ PASCAL CreateCq(DWORD size, RIO_NOTIFICATION_COMPLETION* n) {
  auto* cq = new Cq();
  cq->size = size;
  if (n) {
    cq->n = *n;
    cq->notifies = true;
  }
  st->stats.cqs++;
  return reinterpret_cast<RIO_CQ>(cq);
}

VOID PASCAL CloseCq(RIO_CQ cq) {
  delete reinterpret_cast<Cq*>(cq);
}

RIO_RQ PASCAL CreateRq(SOCKET s, ULONG, ULONG, ULONG, ULONG, RIO_CQ rcq, RIO_CQ, PVOID ctx) {
  auto* rq = new Rq();
  rq->s = s;
  rq->socketCtx = ctx;
  rq->cq = reinterpret_cast<Cq*>(rcq);
  st->rqs[s] = rq;
  st->stats.rqs++;
  FindPeer(rq);
  return reinterpret_cast<RIO_RQ>(rq);
}

BOOL PASCAL Receive(RIO_RQ h, RIO_BUF* b, ULONG, DWORD, PVOID ctx) {
  auto* rq = reinterpret_cast<Rq*>(h);
  if (st->failReceives > 0 || rq->closed) {
    if (st->failReceives > 0) st->failReceives--;
    WSASetLastError(rq->closed ? WSAENOTCONN : WSAENOBUFS);
    return FALSE;
  }
  st->stats.receives++;
  rq->recvs.push_back(Req{*b, reinterpret_cast<uintptr_t>(ctx), 0, b->Length});
  Pump(rq);
  return TRUE;
}

BOOL PASCAL Send(RIO_RQ h, RIO_BUF* b, ULONG, DWORD, PVOID ctx) {
  auto* rq = reinterpret_cast<Rq*>(h);
  if (rq->closed || rq->fin) {
    WSASetLastError(WSAESHUTDOWN);
    return FALSE;
  }
  st->stats.sends++;
  Req r{*b, reinterpret_cast<uintptr_t>(ctx), 0, b->Length};
  if (st->shortNext) {
    r.limit = std::min<uint32_t>(st->shortNext, b->Length);
    st->shortNext = 0;
  }
  rq->sends.push_back(r);
  Pump(rq);
  return TRUE;
}

ULONG PASCAL Dequeue(RIO_CQ h, RIORESULT* out, ULONG max) {
  auto* cq = reinterpret_cast<Cq*>(h);
  if (st->corrupt || cq->overflow) return kCorruptCq;
  ULONG n = 0;
  while (n < max && !cq->q.empty()) {
    out[n++] = cq->q.front();
    cq->q.pop_front();
  }
  return n;
}

int PASCAL Notify(RIO_CQ h) {
  auto* cq = reinterpret_cast<Cq*>(h);
  st->stats.notifies++;
  if (!cq->notifies) return WSAEINVAL;
  if (cq->armed) return WSAEALREADY;
  cq->armed = true;
  if (!cq->q.empty()) {  // already something there: signal at once
    cq->armed = false;
    st->stats.signals++;
    if (cq->n.Type == RIO_EVENT_COMPLETION) SetEvent(cq->n.Event.EventHandle);
    else PostQueuedCompletionStatus(cq->n.Iocp.IocpHandle, 0, reinterpret_cast<ULONG_PTR>(cq->n.Iocp.CompletionKey),
                                    static_cast<LPOVERLAPPED>(cq->n.Iocp.Overlapped));
  }
  return 0;
}

int PASCAL ShutdownSend(SOCKET s) {
  auto it = st->rqs.find(s);
  if (it == st->rqs.end()) return 0;
  it->second->fin = true;
  Pump(it->second);
  return 0;
}

void PASCAL SocketClosing(SOCKET s) {
  auto it = st->rqs.find(s);
  if (it == st->rqs.end()) return;
  Rq* rq = it->second;
  st->rqs.erase(it);
  rq->closed = true;
  for (const Req& r : rq->recvs) Post(rq, r.ctx, WSA_OPERATION_ABORTED, 0);
  for (const Req& r : rq->sends) Post(rq, r.ctx, WSA_OPERATION_ABORTED, 0);
  rq->recvs.clear();
  rq->sends.clear();
  if (Rq* b = rq->peer) {
    b->peer = nullptr;
    b->peerGone = true;
    Move(b);  // its waiting sends fail
    Deliver(b);  // the end of stream, after what it already holds
  }
  delete rq;  // RIO frees a request queue with its socket
}

}  // namespace

RioFns Fns() {
  RioFns f;
  f.registerBuffer = Register;
  f.deregisterBuffer = Deregister;
  f.createCompletionQueue = CreateCq;
  f.closeCompletionQueue = CloseCq;
  f.createRequestQueue = CreateRq;
  f.receive = Receive;
  f.send = Send;
  f.dequeueCompletion = Dequeue;
  f.notify = Notify;
  f.shutdownSend = ShutdownSend;
  f.socketClosing = SocketClosing;
  return f;
}

void Reset() {
  for (auto& [s, rq] : st->rqs) delete rq;
  delete st;
  st = new State();
}

void Pair(SOCKET a, SOCKET b) {
  st->pairs[a] = b;
  st->pairs[b] = a;
}
void PairByAddress(bool on) { st->byAddress = on; }
void SetWindow(uint32_t bytes) { st->window = bytes; }
void ShortSendNext(uint32_t bytes) { st->shortNext = bytes; }
void CorruptAll(bool on) { st->corrupt = on; }
void FailReceives(int n) { st->failReceives = n; }
void RegisterLimit(int n) { st->registerLimit = n; }
Stats GetStats() { return st->stats; }

}  // namespace fake
}  // namespace rio
}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
