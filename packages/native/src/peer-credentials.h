#pragma once
#include <napi.h>

namespace fastpath {
// peerCredentials(fd) -> { uid, gid, pid } | null
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);
}  // namespace fastpath
