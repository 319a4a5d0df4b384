// Emitter: how the tcp-fastpath sockets and listener (tcp-fastpath-socket.cc,
// tcp-fastpath-listener.cc) call their JS callback, cb(kind, arg), from a libuv callback.
#pragma once
#ifdef _WIN32
#include <napi.h>

#include <cstdint>

namespace fastpath {
namespace win {

// Calls the JS callback of a wrapped object from a libuv callback: cb(kind, arg).
class Emitter {
 public:
  void Init(Napi::Env env, Napi::Object self, Napi::Function cb, const char* name) {
    env_ = env;
    self_ = Napi::Persistent(self);  // strong while the handle is open: never collected mid-I/O
    cb_ = Napi::Persistent(cb);
    ctx_ = new Napi::AsyncContext(env, name, self);
  }
  void Emit(int32_t kind, napi_value arg = nullptr) {
    if (!ctx_) return;
    Napi::HandleScope scope(env_);
    napi_value argv[2] = {Napi::Number::New(env_, kind), arg ? arg : env_.Undefined()};
    napi_value recv = self_.Value();
    napi_value result;
    napi_status s = napi_make_callback(env_, *ctx_, recv, cb_.Value(), 2, argv, &result);
    if (s == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env_, &exc);
      napi_fatal_exception(env_, exc);
    }
  }
  void Release() {
    delete ctx_;
    ctx_ = nullptr;
    cb_.Reset();
    self_.Reset();
  }
  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_{nullptr};
  Napi::ObjectReference self_;
  Napi::FunctionReference cb_;
  Napi::AsyncContext* ctx_ = nullptr;
};

}  // namespace win
}  // namespace fastpath
#endif  // _WIN32
