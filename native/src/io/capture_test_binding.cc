#include "io/capture_test_binding.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "common/env_threads.h"
#include "io/capture.h"

namespace portflow::io {
namespace {

std::string StringArg(const Napi::Object& o, const char* key, const std::string& def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t UintArg(const Napi::Object& o, const char* key, uint32_t def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().Uint32Value();
}

IpAddress AddressArg(Napi::Env env, const std::string& text, const char* key) {
  IpAddress a;
  if (text.empty()) return a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
    a.family = 6;
  } else {
    throw Napi::TypeError::New(env, std::string(key) + " must be an IPv4 or IPv6 address, got \"" + text + "\"");
  }
  return a;
}

// 32 hex digits: k0 from the first 16, k1 from the last 16.
CookieKey KeyArg(Napi::Env env, const std::string& hex) {
  if (hex.size() != 32 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    throw Napi::TypeError::New(env, "key must be 32 hex digits");
  }
  return CookieKey{std::stoull(hex.substr(0, 16), nullptr, 16), std::stoull(hex.substr(16), nullptr, 16)};
}

[[noreturn]] void ThrowCaptureError(Napi::Env env, const CaptureError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  const char* code = e.err == EPERM ? "EPERM" : e.err == ENODEV ? "ENODEV" : e.err == EINVAL ? "EINVAL" : "ECAPTURE";
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, e.err));
  throw err;
}

class CaptureWrap : public Napi::ObjectWrap<CaptureWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Capture",
                       {InstanceMethod<&CaptureWrap::Start>("start"), InstanceMethod<&CaptureWrap::Stop>("stop"),
                        InstanceMethod<&CaptureWrap::Counters>("counters"), InstanceMethod<&CaptureWrap::Records>("records"),
                        InstanceMethod<&CaptureWrap::Answered>("answered")});
  }

  explicit CaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CaptureWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Capture(options): options must be an object");
    const Napi::Object o = info[0].As<Napi::Object>();
    CaptureConfig c;
    c.interface = StringArg(o, "interface", "");
    c.ethernet = StringArg(o, "layer", "ethernet") != "ip";
    c.src_v4 = AddressArg(env, StringArg(o, "srcV4", ""), "srcV4");
    c.src_v6 = AddressArg(env, StringArg(o, "srcV6", ""), "srcV6");
    c.port_first = static_cast<uint16_t>(UintArg(o, "portFirst", 0));
    c.port_count = static_cast<uint16_t>(UintArg(o, "portCount", 0));
    const std::string mode = StringArg(o, "mode", "tcp-syn");
    c.mode = mode == "udp" ? kModeUdp : mode == "discovery" ? kModeDiscovery : kModeTcpSyn;
    c.key = KeyArg(env, StringArg(o, "key", std::string(32, '0')));
    c.block_size = UintArg(o, "blockSize", c.block_size);
    c.block_count = UintArg(o, "blockCount", c.block_count);
    c.retire_ms = UintArg(o, "retireMs", c.retire_ms);
    c.poll_ms = UintArg(o, "pollMs", c.poll_ms);
    ring_ = std::make_shared<RecordRing>(UintArg(o, "ringCapacity", 4096));
    answered_ = std::make_unique<SpscRing<AnsweredProbe>>(UintArg(o, "ringCapacity", 4096));
    try {
      capture_ = std::make_unique<Capture>(c, ring_, answered_.get());
    } catch (const CaptureError& e) {
      ThrowCaptureError(env, e);
    }
  }

  ~CaptureWrap() override { Release(); }

 private:
  void Release() {
    if (!capture_) return;
    if (registered_ != nullptr) registered_->Remove(capture_.get());
    registered_ = nullptr;
    capture_->Stop();
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (!capture_) throw Napi::Error::New(info.Env(), "capture: closed");
    try {
      EnvThreads& threads = GetAddonData(info.Env()).threads;
      if (threads.shutting_down()) throw Napi::Error::New(info.Env(), "capture: the environment is shutting down");
      capture_->Start();
      threads.Add(capture_.get());  // the environment's cleanup hook stops it on exit
      registered_ = &threads;
    } catch (const CaptureError& e) {
      ThrowCaptureError(info.Env(), e);
    }
    return info.Env().Undefined();
  }

  // Stops, joins and closes; returns how long the join took (ms).
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Release();
    return Napi::Number::New(info.Env(), capture_ ? capture_->last_join_ms() : 0);
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const CaptureCounters& c = capture_->counters();
    auto put = [&](const char* k, const std::atomic<uint64_t>& v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v.load(std::memory_order_relaxed)))); };
    put("received", c.received);
    put("matched", c.matched);
    put("duplicates", c.duplicates);
    put("strays", c.strays);
    put("parseErrors", c.parse_errors);
    put("kernelDrops", c.kernel_drops);
    put("softnetDrops", c.softnet_drops);
    put("answeredFull", c.answered_full);
    put("socketErrors", c.socket_errors);
    o.Set("ringOverflow", Napi::Number::New(env, static_cast<double>(ring_->overflow())));
    return o;
  }

  // Copies out and releases every published record (a Buffer of 64-byte records).
  Napi::Value Records(const Napi::CallbackInfo& info) {
    SpscRing<Record>& r = ring_->ring();
    const size_t n = r.AvailableFresh();
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), n * kRecordSize);
    for (size_t i = 0; i < n; ++i) std::memcpy(out.Data() + i * kRecordSize, r.Peek(i).bytes, kRecordSize);
    r.Release(n);
    return out;
  }

  Napi::Value Answered(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    AnsweredProbe a;
    uint32_t i = 0;
    while (answered_->TryPop(&a)) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("family", a.family);
      o.Set("proto", a.proto);
      o.Set("srcPort", a.src_port);
      o.Set("dstPort", a.dst_port);
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(a.family == 6 ? AF_INET6 : AF_INET, a.dst, text, sizeof text);
      o.Set("dst", text);
      out.Set(i++, o);
    }
    return out;
  }

  std::shared_ptr<RecordRing> ring_;
  std::unique_ptr<SpscRing<AnsweredProbe>> answered_;
  std::unique_ptr<Capture> capture_;
  EnvThreads* registered_ = nullptr;
};

// cookie({ key, family?, proto, srcPort, dstPort, src, dst }) -> u32, the sender's Cookie(flow).
Napi::Value CookieJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "cookie(flow): flow must be an object");
  const Napi::Object o = info[0].As<Napi::Object>();
  const IpAddress src = AddressArg(env, StringArg(o, "src", ""), "src");
  const IpAddress dst = AddressArg(env, StringArg(o, "dst", ""), "dst");
  if (src.family == 0 || src.family != dst.family) throw Napi::TypeError::New(env, "src and dst must be addresses of one family");
  const Flow f{src.family, static_cast<uint8_t>(UintArg(o, "proto", 6)), static_cast<uint16_t>(UintArg(o, "srcPort", 0)),
               static_cast<uint16_t>(UintArg(o, "dstPort", 0)), src.bytes, dst.bytes};
  return Napi::Number::New(env, Cookie(KeyArg(env, StringArg(o, "key", "")), f));
}

}  // namespace

void InitCaptureTest(Napi::Env env, Napi::Object exports) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("Capture", CaptureWrap::Define(env));
  t.Set("cookie", Napi::Function::New(env, CookieJs, "cookie"));
  exports.Set("captureTest", t);
}

}  // namespace portflow::io
