#include "connect/connect_binding.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "common/env_threads.h"
#include "connect/connect_engine.h"
#include "ring/ring_binding.h"

namespace portflow {

namespace {

using connect::ConnectEngine;
using connect::ConnectOptions;

constexpr double kMaxExact = 9007199254740992.0;  // 2^53

[[noreturn]] void Throw(Napi::Env env, const char* code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

double Number(const Napi::Object& o, const char* key, double def, double min, double max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) Throw(o.Env(), "ERR_CONNECT_OPTION", std::string("ConnectEngine: ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max))
    Throw(o.Env(), "ERR_CONNECT_OPTION",
          std::string("ConnectEngine: ") + key + " must be from " + std::to_string(min) + " to " + std::to_string(max));
  return d;
}

const uint32_t* Words(Napi::Env env, const Napi::Object& o, const char* key, size_t* n) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    Throw(env, "ERR_JOB_LAYOUT", std::string("ConnectEngine: job.") + key + " must be a Uint32Array");
  auto a = v.As<Napi::Uint32Array>();
  *n = a.ElementLength();
  return a.Data();
}

// The engine's own copy of the scan job, from the layout @portflow/scanner built its job from.
std::unique_ptr<job::ScanJob> JobFromLayout(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) Throw(env, "ERR_JOB_LAYOUT", "ConnectEngine: job must be a JobLayout object");
  Napi::Object o = value.As<Napi::Object>();
  size_t nseg, nbits, nports;
  const uint32_t* seg = Words(env, o, "segments", &nseg);
  const uint32_t* bits = Words(env, o, "blockBits", &nbits);
  const uint32_t* ports = Words(env, o, "ports", &nports);
  Napi::Value seed_v = o.Get("seed");
  if (!seed_v.IsBigInt()) Throw(env, "ERR_JOB_LAYOUT", "ConnectEngine: job.seed must be a bigint");
  bool lossless = false;
  const uint64_t seed = seed_v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) Throw(env, "ERR_JOB_LAYOUT", "ConnectEngine: job.seed must be an integer from 0 to 2^64 - 1");
  Napi::Value natural = o.Get("natural");
  if (!natural.IsBoolean()) Throw(env, "ERR_JOB_LAYOUT", "ConnectEngine: job.natural must be a boolean");
  auto whole = [&](const char* key) {
    const double d = Number(o, key, -1, 0, kMaxExact - 1);
    if (d < 0 || std::floor(d) != d) Throw(env, "ERR_JOB_LAYOUT", std::string("ConnectEngine: job.") + key + " must be an integer");
    return static_cast<uint64_t>(d);
  };
  job::ShardSpec shard{whole("shardIndex"), whole("shardCount")};
  const uint64_t position = whole("position");
  auto j = std::make_unique<job::ScanJob>();
  const std::string err = j->init(seg, nseg, bits, nbits, ports, nports, seed, natural.As<Napi::Boolean>().Value(), shard, position);
  if (!err.empty()) Throw(env, "ERR_JOB_LAYOUT", "ConnectEngine: job: " + err);
  for (uint64_t i = 0; i < nports; i += job::kPortRunWords)
    if (ports[i] != static_cast<uint32_t>(job::ProbeKind::kTcp))
      Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine: a connect scan probes TCP ports only; the job has UDP ports");
  return j;
}

// new ConnectEngine(ring, { job, end, concurrency, maxRetries, initialTimeoutMs, minTimeoutMs,
//                           maxTimeoutMs, skip: Float64Array, producerId, paused })
class ConnectWrap : public Napi::ObjectWrap<ConnectWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ConnectEngine",
                       {InstanceMethod<&ConnectWrap::StartJs>("start"), InstanceMethod<&ConnectWrap::PauseJs>("pause"),
                        InstanceMethod<&ConnectWrap::ResumeJs>("resume"), InstanceMethod<&ConnectWrap::SetEndJs>("setEnd"),
                        InstanceMethod<&ConnectWrap::ReadStatusJs>("readStatus"),
                        InstanceMethod<&ConnectWrap::TakeShortagesJs>("takeShortages"),
                        InstanceMethod<&ConnectWrap::SkipHostsJs>("skipHosts"),
                        InstanceMethod<&ConnectWrap::StopJs>("stop"), StaticValue("statusWords", Napi::Number::New(env, connect::kStatusWords))});
  }

  explicit ConnectWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectWrap>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    std::shared_ptr<RecordRing> ring = RingFromJs(env, info[0]);
    if (info.Length() < 2 || !info[1].IsObject()) Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine: expects (ring, options)");
    Napi::Object o = info[1].As<Napi::Object>();
    std::unique_ptr<job::ScanJob> job = JobFromLayout(env, o.Get("job"));
    ConnectOptions opt;
    opt.concurrency = static_cast<uint32_t>(Number(o, "concurrency", 1024, 1, 1 << 20));
    opt.max_retries = static_cast<uint32_t>(Number(o, "maxRetries", 2, 0, 100));
    opt.min_timeout_ms = Number(o, "minTimeoutMs", 100, 1, 3.6e6);
    opt.max_timeout_ms = Number(o, "maxTimeoutMs", 10000, opt.min_timeout_ms, 3.6e6);
    opt.initial_timeout_ms = Number(o, "initialTimeoutMs", 1000, 1, 3.6e6);
    opt.end = static_cast<uint64_t>(Number(o, "end", static_cast<double>(job->length()), 0, kMaxExact));
    opt.producer_id = static_cast<uint16_t>(Number(o, "producerId", 0, 0, 65535));
    opt.start_paused = o.Get("paused").ToBoolean().Value();
    Napi::Value skip = o.Get("skip");
    if (!skip.IsUndefined()) {
      if (!skip.IsTypedArray() || skip.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
        Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine: skip must be a Float64Array of positions");
      auto a = skip.As<Napi::Float64Array>();
      opt.skip.reserve(a.ElementLength());
      for (size_t i = 0; i < a.ElementLength(); ++i) {
        const double d = a[i];
        if (!(d >= 0 && d < kMaxExact) || std::floor(d) != d || (i > 0 && d <= a[i - 1]))
          Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine: skip must hold ascending integer positions");
        opt.skip.push_back(static_cast<uint64_t>(d));
      }
    }
    ring_ref_ = Napi::Persistent(info[0].As<Napi::Object>());  // the ring outlives its producer
    ring_ = ring;
    engine_ = std::make_unique<ConnectEngine>(ring, std::move(job), std::move(opt));
    if (!ring_->AttachProducer(engine_.get())) {
      engine_.reset();
      Throw(env, "ERR_CONNECT_RING", "ConnectEngine: this ring already has a producer (one ring per producer thread)");
    }
    EnvThreads& threads = GetAddonData(env).threads;
    if (threads.shutting_down()) {
      ring_->DetachProducer(engine_.get());
      engine_.reset();
      Throw(env, "ERR_CONNECT_STATE", "ConnectEngine: the environment is shutting down");
    }
    threads.Add(engine_.get());
    registered_ = true;
  }

  ~ConnectWrap() override { Dispose(); }

 private:
  void Dispose() {
    if (!engine_) return;
    engine_->RequestStop();
    engine_->Join();
    engine_->ReadStatus(last_status_);
    ring_->DetachProducer(engine_.get());
    if (registered_) GetAddonData(env_).threads.Remove(engine_.get());
    registered_ = false;
    engine_.reset();
    stopped_ = true;
  }

  Napi::Value StartJs(const Napi::CallbackInfo& info) {
    if (!engine_) Throw(info.Env(), "ERR_CONNECT_STATE", "ConnectEngine: stopped");
    const std::string err = engine_->Start();
    if (!err.empty()) Throw(info.Env(), "ERR_CONNECT_START", "ConnectEngine: " + err);
    return info.Env().Undefined();
  }
  Napi::Value PauseJs(const Napi::CallbackInfo& info) {
    if (engine_) engine_->Pause();
    return info.Env().Undefined();
  }
  Napi::Value ResumeJs(const Napi::CallbackInfo& info) {
    if (engine_) engine_->Resume();
    return info.Env().Undefined();
  }
  Napi::Value SetEndJs(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) Throw(info.Env(), "ERR_CONNECT_OPTION", "ConnectEngine.setEnd: end must be a number");
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0)) Throw(info.Env(), "ERR_CONNECT_OPTION", "ConnectEngine.setEnd: end must be a position >= 0");
    if (engine_) engine_->SetEnd(d >= kMaxExact ? static_cast<uint64_t>(kMaxExact) : static_cast<uint64_t>(d));
    return info.Env().Undefined();
  }
  // readStatus(out: Float64Array of statusWords): one call, no allocation.
  Napi::Value ReadStatusJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[0].As<Napi::Float64Array>().ElementLength() < connect::kStatusWords)
      Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine.readStatus: expects a Float64Array of ConnectEngine.statusWords");
    double* out = info[0].As<Napi::Float64Array>().Data();
    if (engine_) engine_->ReadStatus(out);
    else std::memcpy(out, last_status_, sizeof last_status_);
    return env.Undefined();
  }
  Napi::Value TakeShortagesJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!engine_) return out;
    uint32_t i = 0;
    for (const connect::Shortage& s : engine_->TakeShortages()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("errno", s.err);
      const char* name = strerrorname_np(s.err);
      char fallback[24];
      std::snprintf(fallback, sizeof fallback, "ERRNO%d", s.err);
      o.Set("code", name ? name : fallback);
      o.Set("family", s.family);
      o.Set("address", Napi::Buffer<uint8_t>::Copy(env, s.addr, s.family == 6 ? 16 : 4));
      o.Set("port", s.port);
      o.Set("limit", s.limit);
      out.Set(i++, o);
    }
    return out;
  }
  // skipHosts(addresses: string[]): hosts given up on; the TS wrapper has checked them.
  Napi::Value SkipHostsJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine.skipHosts: expects an array of IP addresses");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<ConnectEngine::Host> hosts(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      ConnectEngine::Host& h = hosts[i];
      const std::string text = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
      if (inet_pton(AF_INET, text.c_str(), h.addr) == 1) h.family = 4;
      else if (inet_pton(AF_INET6, text.c_str(), h.addr) == 1) h.family = 6;
      else Throw(env, "ERR_CONNECT_OPTION", "ConnectEngine.skipHosts: addresses[" + std::to_string(i) + "] is not an IPv4 or IPv6 address");
    }
    if (engine_ && !hosts.empty()) engine_->SkipHosts(hosts);
    return env.Undefined();
  }
  // Stops and joins the thread (every socket closed) and detaches it from the ring. Idempotent.
  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    Dispose();
    return info.Env().Undefined();
  }

  napi_env env_;
  std::shared_ptr<RecordRing> ring_;
  std::unique_ptr<ConnectEngine> engine_;
  Napi::ObjectReference ring_ref_;
  bool registered_ = false;
  bool stopped_ = false;
  double last_status_[connect::kStatusWords] = {};
};

}  // namespace

void InitConnect(Napi::Env env, Napi::Object exports) { exports.Set("ConnectEngine", ConnectWrap::Define(env)); }

}  // namespace portflow
