// The JS face of the addon: class ShmChannel and a few constants. Typed in src/native.ts.
//
// Everything here runs on the thread that owns the env. JS is called from libuv callbacks (through
// napi_make_callback, inside a HandleScope), and from one method JS called: spin(), which calls the
// same callback synchronously (napi_call_function, in its own HandleScope).
#include "peer-credentials.h"
#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "shm-channel.h"
#include "win/win-addon.h"

namespace fastpath {
namespace {

enum Event : int32_t { kEvData = 0, kEvBatch = 1, kEvAttached = 2, kEvDrain = 3, kEvClosed = 4 };

// The longest one spin() may last, in µs.
constexpr double kMaxSpinMicros = 100000;

// Received chunks up to kPoolMaxChunk bytes are carved out of a shared kPoolBytes ArrayBuffer, as
// Buffer.allocUnsafe carves its pool: one typed-array view per chunk instead of one backing store
// (a malloc, a free on V8's sweeper thread, and a prototype change: about 0.4 µs per chunk here).
// The JS side turns each view into a Buffer. Larger chunks get a Buffer of their own.
constexpr size_t kPoolBytes = 8192;
constexpr size_t kPoolMaxChunk = kPoolBytes / 2;

// Delivers channel events to one JS callback: cb(kind, arg).
class JsSink : public ChannelSink {
 public:
  JsSink(napi_env env, Napi::Object self, Napi::Function cb) : env_(env) {
    self_ = Napi::Persistent(self);  // strong: an open channel is never garbage-collected
    cb_ = Napi::Persistent(cb);
    napi_value name;
    napi_create_string_utf8(env, "FastpathShmChannel", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, self, name, &ctx_);
  }
  ~JsSink() override { Detach(); }

  void SetHook(napi_async_cleanup_hook_handle h) { hook_ = h; }

  void OpenScope() override {
    if (scopeDepth_++ == 0) napi_open_handle_scope(env_, &scope_);
  }
  void CloseScope() override {
    if (--scopeDepth_ == 0) napi_close_handle_scope(env_, scope_);
  }

  uint8_t* NewChunk(size_t n) override {
    void* data = nullptr;
    napi_value buf;
    if (n <= kPoolMaxChunk && live_) {
      if (!pool_ || poolOff_ + n > kPoolBytes) {
        if (!NewPool()) return nullptr;
      }
      napi_value ab;
      if (napi_get_reference_value(env_, pool_, &ab) != napi_ok || !ab) return nullptr;
      if (napi_create_typedarray(env_, napi_uint8_array, n, ab, poolOff_, &buf) != napi_ok) return nullptr;
      data = poolData_ + poolOff_;
      poolOff_ += (n + 7) & ~static_cast<size_t>(7);  // 8-byte aligned, as Buffer's pool
    } else if (napi_create_buffer(env_, n, &data, &buf) != napi_ok) {
      return nullptr;
    }
    chunks_.push_back(buf);
    return static_cast<uint8_t*>(data);
  }

  void FlushChunks() override {
    if (chunks_.empty()) return;
    napi_value arg;
    int32_t kind;
    if (chunks_.size() == 1) {
      kind = kEvData;
      arg = chunks_[0];
    } else {
      kind = kEvBatch;
      napi_create_array_with_length(env_, chunks_.size(), &arg);
      for (size_t i = 0; i < chunks_.size(); i++) napi_set_element(env_, arg, static_cast<uint32_t>(i), chunks_[i]);
    }
    chunks_.clear();
    Call(kind, arg);
  }

  void OnAttached() override { Call(kEvAttached, nullptr); }
  void OnDrain() override { Call(kEvDrain, nullptr); }
  void OnClosed(const std::string* error) override {
    napi_value arg = nullptr;
    if (error) napi_create_string_utf8(env_, error->c_str(), error->size(), &arg);
    Call(kEvClosed, arg);
  }

  void Detach() override {
    if (!live_) return;
    live_ = false;
    cb_.Reset();
    self_.Reset();
    DropPool();
    if (ctx_) napi_async_destroy(env_, ctx_);
    ctx_ = nullptr;
  }

  void OnHandlesClosed() override {
    if (hook_) napi_remove_async_cleanup_hook(hook_);  // unregisters, or completes the hook
    hook_ = nullptr;
  }

  void BeginSync() override {
    napi_open_handle_scope(env_, &syncScope_);
    sync_ = true;
    failed_ = false;
  }
  void EndSync() override {
    sync_ = false;
    napi_close_handle_scope(env_, syncScope_);  // allowed with an exception pending
    syncScope_ = nullptr;
  }
  bool CallFailed() const override { return failed_; }

 private:
  // A fresh pool; the chunks already handed out keep the old one alive as long as JS holds them.
  bool NewPool() {
    DropPool();
    napi_value ab;
    void* data = nullptr;
    if (napi_create_arraybuffer(env_, kPoolBytes, &data, &ab) != napi_ok) return false;
    if (napi_create_reference(env_, ab, 1, &pool_) != napi_ok) return false;
    poolData_ = static_cast<uint8_t*>(data);
    poolOff_ = 0;
    return true;
  }
  void DropPool() {
    if (pool_) napi_delete_reference(env_, pool_);
    pool_ = nullptr;
    poolData_ = nullptr;
    poolOff_ = 0;
  }

  void Call(int32_t kind, napi_value arg) {
    if (!live_ || failed_) return;
    napi_value argv[2];
    napi_create_int32(env_, kind, &argv[0]);
    if (arg) argv[1] = arg;
    else napi_get_undefined(env_, &argv[1]);
    napi_value result;
    if (sync_) {
      // Inside spin(), called from JS: a plain call. A throwing handler's exception stays pending
      // and is thrown by spin() (from a microtask: an uncaught exception, as for a loop callback).
      if (napi_call_function(env_, self_.Value(), cb_.Value(), 2, argv, &result) != napi_ok) failed_ = true;
      return;
    }
    napi_status s = napi_make_callback(env_, ctx_, self_.Value(), cb_.Value(), 2, argv, &result);
    if (s == napi_pending_exception) {
      // A throwing handler is an uncaught exception, as for a socket's 'data' listener.
      napi_value exc;
      napi_get_and_clear_last_exception(env_, &exc);
      napi_fatal_exception(env_, exc);
    }
  }

  napi_env env_;
  Napi::ObjectReference self_;
  Napi::FunctionReference cb_;
  napi_async_context ctx_ = nullptr;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  napi_handle_scope scope_ = nullptr;
  int scopeDepth_ = 0;
  napi_handle_scope syncScope_ = nullptr;
  bool sync_ = false;    // between BeginSync and EndSync
  bool failed_ = false;  // a synchronous call threw: call nothing more until EndSync
  bool live_ = true;
  std::vector<napi_value> chunks_;
  napi_ref pool_ = nullptr;  // the current chunk pool (an ArrayBuffer of kPoolBytes)
  uint8_t* poolData_ = nullptr;
  size_t poolOff_ = 0;
};

uint32_t GetU32(Napi::Object o, const char* key, uint32_t def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : def;
}

std::string GetStr(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

Napi::Value ThrowOs(Napi::Env env, const OsError& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, e.code));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

class ShmChannel : public Napi::ObjectWrap<ShmChannel> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ShmChannel",
                       {InstanceMethod<&ShmChannel::Write>("write"), InstanceMethod<&ShmChannel::Pending>("pending"),
                        InstanceMethod<&ShmChannel::SetReading>("setReading"), InstanceMethod<&ShmChannel::Spin>("spin"),
                        InstanceMethod<&ShmChannel::Close>("close"),
                        InstanceMethod<&ShmChannel::Destroy>("destroy"), InstanceMethod<&ShmChannel::Token>("token"),
                        InstanceMethod<&ShmChannel::Info>("info"), InstanceMethod<&ShmChannel::Poke>("pokeForTest")});
  }

  // new ShmChannel(role: 0 create | 1 attach, token | null, options, callback)
  ShmChannel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ShmChannel>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[2].IsObject() || !info[3].IsFunction()) {
      Napi::TypeError::New(env, "ShmChannel(role, token, options, callback)").ThrowAsJavaScriptException();
      return;
    }
    int role = info[0].As<Napi::Number>().Int32Value();
    Napi::Object o = info[2].As<Napi::Object>();
    ChannelOptions opt;
    opt.ringBytes = GetU32(o, "ringBytes", opt.ringBytes);
    opt.slotBytes = GetU32(o, "slotBytes", opt.slotBytes);
    opt.batchMax = GetU32(o, "batchMax", opt.batchMax);
    opt.spinMicros = GetU32(o, "spinMicros", opt.spinMicros);
    uint32_t mode = GetU32(o, "mode", static_cast<uint32_t>(opt.mode));
    std::string base = GetStr(o, "dirBase");
    if (!base.empty()) opt.dirBase = base;
    if (mode > 2 || opt.slotBytes == 0 || opt.batchMax == 0) {
      Napi::RangeError::New(env, "invalid mode, slotBytes or batchMax").ThrowAsJavaScriptException();
      return;
    }
    opt.mode = static_cast<Mode>(mode);
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
      Napi::Error::New(env, "no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    OsError err;
    if (role == 0) {
      ch_ = Channel::Create(loop, opt, &err);
    } else {
      if (!info[1].IsObject()) {
        Napi::TypeError::New(env, "attach needs a token object").ThrowAsJavaScriptException();
        return;
      }
      Napi::Object t = info[1].As<Napi::Object>();
      ChannelToken token;
      token.shm = GetStr(t, "shm");
      token.dir = GetStr(t, "dir");
      token.ringBytes = GetU32(t, "ringBytes", 0);
      token.key = GetStr(t, "key");
      ch_ = Channel::Attach(loop, token, opt, &err);
    }
    if (!ch_) {
      ThrowOs(env, err);
      return;
    }
    auto sink = std::make_unique<JsSink>(env, info.This().As<Napi::Object>(), info[3].As<Napi::Function>());
    JsSink* s = sink.get();
    ch_->Start(std::move(sink));
    napi_async_cleanup_hook_handle hook = nullptr;
    if (napi_add_async_cleanup_hook(env, OnEnvCleanup, ch_, &hook) == napi_ok) s->SetHook(hook);
  }

  ~ShmChannel() override {
    if (!ch_) return;
    ch_->Destroy();
    ch_->Release();
    ch_ = nullptr;
  }

 private:
  // The env (a worker thread, or the main one at exit) is being torn down: close the handles so
  // the loop can end; the hook is completed from OnHandlesClosed.
  static void OnEnvCleanup(napi_async_cleanup_hook_handle /*h*/, void* arg) {
    static_cast<Channel*>(arg)->Shutdown();
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      Napi::TypeError::New(info.Env(), "write(Uint8Array)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    return Napi::Number::New(info.Env(), static_cast<double>(ch_->Write(a.Data(), a.ByteLength())));
  }

  Napi::Value Pending(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(ch_->pendingBytes()));
  }

  Napi::Value SetReading(const Napi::CallbackInfo& info) {
    ch_->SetReading(info.Length() > 0 && info[0].ToBoolean().Value());
    return info.Env().Undefined();
  }

  // spin(budgetMicros, perTurn?): see Channel::Spin. The budget may be fractional; 0 returns at once.
  Napi::Value Spin(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    double us = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(us >= 0 && us <= kMaxSpinMicros)) {  // also refuses NaN
      Napi::RangeError::New(env, "spin(budgetMicros): budgetMicros must be a number from 0 to 100000").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool perTurn = info.Length() > 1 && info[1].ToBoolean().Value();
    return Napi::Number::New(env, static_cast<double>(ch_->Spin(static_cast<uint64_t>(us * 1000.0), perTurn)));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ch_->Close()); }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    ch_->Destroy();
    return info.Env().Undefined();
  }

  Napi::Value Token(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ChannelToken t = ch_->token();
    Napi::Object o = Napi::Object::New(env);
    o.Set("v", Napi::Number::New(env, kVersion));
    o.Set("shm", t.shm);
    o.Set("dir", t.dir);
    o.Set("ringBytes", Napi::Number::New(env, t.ringBytes));
    o.Set("key", t.key);
    return o;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ChannelOptions& opt = ch_->options();
    Napi::Object o = Napi::Object::New(env);
    o.Set("side", Napi::Number::New(env, ch_->side()));
    o.Set("open", Napi::Boolean::New(env, ch_->open()));
    o.Set("mode", Napi::Number::New(env, static_cast<int>(opt.mode)));
    o.Set("ringBytes", Napi::Number::New(env, opt.ringBytes));
    o.Set("slotBytes", Napi::Number::New(env, opt.slotBytes));
    o.Set("batchMax", Napi::Number::New(env, opt.batchMax));
    o.Set("spinMicros", Napi::Number::New(env, opt.spinMicros));
    o.Set("polling", Napi::Boolean::New(env, ch_->polling()));
    o.Set("armed", Napi::Boolean::New(env, ch_->armed()));
    o.Set("contended", Napi::Boolean::New(env, ch_->contended()));
    o.Set("spins", Napi::Number::New(env, static_cast<double>(ch_->spins())));
    o.Set("spinDeliveries", Napi::Number::New(env, static_cast<double>(ch_->spinDeliveries())));
    return o;
  }

  Napi::Value Poke(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsBigInt() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "pokeForTest(offset, value: bigint, width)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool lossless;
    uint64_t v = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    size_t off = info[0].As<Napi::Number>().Uint32Value();
    return Napi::Boolean::New(env, ch_->Poke(off, v, info[2].As<Napi::Number>().Int32Value()));
  }

  Channel* ch_ = nullptr;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ShmChannel", ShmChannel::Init(env));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("VERSION", Napi::Number::New(env, kVersion));
  c.Set("HEADER_BYTES", Napi::Number::New(env, kHeaderBytes));
  c.Set("MIN_RING_BYTES", Napi::Number::New(env, kMinRingBytes));
  c.Set("MAX_RING_BYTES", Napi::Number::New(env, kMaxRingBytes));
  c.Set("MAX_SPIN_MICROS", Napi::Number::New(env, kMaxSpinMicros));
  c.Set("OFF_MAGIC", Napi::Number::New(env, kOffMagic));
  c.Set("OFF_RING_BYTES", Napi::Number::New(env, kOffRingBytes));
  c.Set("OFF_TAIL0", Napi::Number::New(env, OffTail(0)));
  c.Set("OFF_TAIL1", Napi::Number::New(env, OffTail(1)));
  c.Set("OFF_HEAD0", Napi::Number::New(env, OffHead(0)));
  c.Set("OFF_HEAD1", Napi::Number::New(env, OffHead(1)));
  exports.Set("constants", c);
#ifdef _WIN32
  win::InitWin(env, exports);
#endif
  return exports;
}

}  // namespace
}  // namespace fastpath

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return fastpath::Init(env, exports); }

NODE_API_MODULE(fastpath_native, InitModule)
