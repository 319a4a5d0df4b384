// The parts of the Registered I/O ABI that mingw-w64's headers lack, declared from Microsoft's
// documented layouts (mswsock.h, MSWSockDef.h) inside fastpath::win::rio, so that a newer SDK
// that does declare them can never clash. Layouts are checked with static_assert for x64.
#pragma once
#ifdef _WIN32

#include <winsock2.h>
#include <windows.h>

#include <cstddef>
#include <cstdint>

namespace fastpath {
namespace win {
namespace rio {

// _WSAIORW(IOC_WS2, 36)
constexpr DWORD kSioGetMultipleExtensionFunctionPointer = 0xC8000024;
// SIO_LOOPBACK_FAST_PATH, _WSAIOW(IOC_VENDOR, 16); mstcpip.h has it, repeated for the check below.
constexpr DWORD kSioLoopbackFastPath = 0x98000010;
// {8509E081-96DD-4005-B165-9E2EE8C79E3F}
constexpr GUID kWsaidMultipleRio = {0x8509e081, 0x96dd, 0x4005, {0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f}};

using RIO_BUFFERID = struct RIO_BUFFERID_t*;
using RIO_CQ = struct RIO_CQ_t*;
using RIO_RQ = struct RIO_RQ_t*;
inline const RIO_BUFFERID kInvalidBufferId = reinterpret_cast<RIO_BUFFERID>(~static_cast<uintptr_t>(0));  // RIO_INVALID_BUFFERID
constexpr RIO_CQ kInvalidCq = nullptr;
constexpr RIO_RQ kInvalidRq = nullptr;
constexpr ULONG kCorruptCq = 0xFFFFFFFF;  // RIO_CORRUPT_CQ: what RIODequeueCompletion returns

struct RIORESULT {
  LONG Status;
  ULONG BytesTransferred;
  ULONGLONG SocketContext;
  ULONGLONG RequestContext;
};

struct RIO_BUF {
  RIO_BUFFERID BufferId;
  ULONG Offset;
  ULONG Length;
};

enum RIO_NOTIFICATION_COMPLETION_TYPE { RIO_EVENT_COMPLETION = 1, RIO_IOCP_COMPLETION = 2 };

struct RIO_NOTIFICATION_COMPLETION {
  RIO_NOTIFICATION_COMPLETION_TYPE Type;
  union {
    struct {
      HANDLE EventHandle;
      BOOL NotifyReset;
    } Event;
    struct {
      HANDLE IocpHandle;
      PVOID CompletionKey;
      PVOID Overlapped;
    } Iocp;
  };
};

using PRIORECEIVE = BOOL(PASCAL*)(RIO_RQ, RIO_BUF*, ULONG, DWORD, PVOID);
using PRIORECEIVEEX = int(PASCAL*)(RIO_RQ, RIO_BUF*, ULONG, RIO_BUF*, RIO_BUF*, RIO_BUF*, RIO_BUF*, DWORD, PVOID);
using PRIOSEND = BOOL(PASCAL*)(RIO_RQ, RIO_BUF*, ULONG, DWORD, PVOID);
using PRIOSENDEX = BOOL(PASCAL*)(RIO_RQ, RIO_BUF*, ULONG, RIO_BUF*, RIO_BUF*, RIO_BUF*, RIO_BUF*, DWORD, PVOID);
using PRIOCLOSECOMPLETIONQUEUE = VOID(PASCAL*)(RIO_CQ);
using PRIOCREATECOMPLETIONQUEUE = RIO_CQ(PASCAL*)(DWORD, RIO_NOTIFICATION_COMPLETION*);
using PRIOCREATEREQUESTQUEUE = RIO_RQ(PASCAL*)(SOCKET, ULONG, ULONG, ULONG, ULONG, RIO_CQ, RIO_CQ, PVOID);
using PRIODEQUEUECOMPLETION = ULONG(PASCAL*)(RIO_CQ, RIORESULT*, ULONG);
using PRIODEREGISTERBUFFER = VOID(PASCAL*)(RIO_BUFFERID);
using PRIONOTIFY = int(PASCAL*)(RIO_CQ);
using PRIOREGISTERBUFFER = RIO_BUFFERID(PASCAL*)(PCHAR, DWORD);
using PRIORESIZECOMPLETIONQUEUE = BOOL(PASCAL*)(RIO_CQ, DWORD);
using PRIORESIZEREQUESTQUEUE = BOOL(PASCAL*)(RIO_RQ, DWORD, DWORD);

struct RIO_EXTENSION_FUNCTION_TABLE {
  DWORD cbSize;
  PRIORECEIVE RIOReceive;
  PRIORECEIVEEX RIOReceiveEx;
  PRIOSEND RIOSend;
  PRIOSENDEX RIOSendEx;
  PRIOCLOSECOMPLETIONQUEUE RIOCloseCompletionQueue;
  PRIOCREATECOMPLETIONQUEUE RIOCreateCompletionQueue;
  PRIOCREATEREQUESTQUEUE RIOCreateRequestQueue;
  PRIODEQUEUECOMPLETION RIODequeueCompletion;
  PRIODEREGISTERBUFFER RIODeregisterBuffer;
  PRIONOTIFY RIONotify;
  PRIOREGISTERBUFFER RIORegisterBuffer;
  PRIORESIZECOMPLETIONQUEUE RIOResizeCompletionQueue;
  PRIORESIZEREQUESTQUEUE RIOResizeRequestQueue;
};

#if defined(_WIN64)
static_assert(sizeof(RIORESULT) == 24, "RIORESULT is 24 bytes on x64");
static_assert(offsetof(RIORESULT, SocketContext) == 8 && offsetof(RIORESULT, RequestContext) == 16, "RIORESULT layout");
static_assert(sizeof(RIO_BUF) == 16 && offsetof(RIO_BUF, Offset) == 8 && offsetof(RIO_BUF, Length) == 12, "RIO_BUF layout");
static_assert(sizeof(RIO_NOTIFICATION_COMPLETION) == 32, "RIO_NOTIFICATION_COMPLETION is 32 bytes on x64");
static_assert(offsetof(RIO_NOTIFICATION_COMPLETION, Event) == 8, "the union starts at 8");
static_assert(sizeof(RIO_EXTENSION_FUNCTION_TABLE) == 8 + 13 * 8, "cbSize (padded) then 13 function pointers");
static_assert(offsetof(RIO_EXTENSION_FUNCTION_TABLE, RIOReceive) == 8, "first pointer after cbSize");
static_assert(offsetof(RIO_EXTENSION_FUNCTION_TABLE, RIORegisterBuffer) == 8 + 10 * 8, "RIORegisterBuffer is the 11th");
#endif

}  // namespace rio
}  // namespace win
}  // namespace fastpath

#endif  // _WIN32
