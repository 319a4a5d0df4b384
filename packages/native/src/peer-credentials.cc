// SO_PEERCRED for a connected Unix socket: the uid, gid and pid of the process at the other end,
// as the kernel recorded them at connect time. Node cannot read it; core's uds tier uses it to
// refuse a channel opened by another user.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "peer-credentials.h"

#ifndef _WIN32
#include <sys/socket.h>
#include <sys/types.h>
#endif

namespace fastpath {

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return env.Null();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd < 0) return env.Null();
#ifdef SO_PEERCRED
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("uid", Napi::Number::New(env, static_cast<double>(cred.uid)));
  out.Set("gid", Napi::Number::New(env, static_cast<double>(cred.gid)));
  out.Set("pid", Napi::Number::New(env, static_cast<double>(cred.pid)));
  return out;
#else
  return env.Null();
#endif
}

}  // namespace fastpath
