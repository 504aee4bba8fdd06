#include "io/probe_engine_binding.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>

#include "common/env_threads.h"
#include "io/engine.h"
#include "io/privilege.h"
#include "ring/ring_binding.h"

namespace portflow {

namespace {

using io::Engine;
using io::EngineConfig;

constexpr napi_type_tag kEngineTag = {0x706f7274666c6f77ULL, 0x656e67696e650100ULL};

[[noreturn]] void ThrowCode(Napi::Env env, const char* code, const std::string& msg, const std::string& option = "") {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  if (!option.empty()) e.Set("option", Napi::String::New(env, option));
  throw e;
}

double Num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) ThrowCode(o.Env(), "ERR_PROBE_ENGINE_OPTION", std::string(key) + ": expected a number", key);
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<uint32_t> Words(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    ThrowCode(o.Env(), "ERR_PROBE_ENGINE_OPTION", std::string("job.") + key + ": expected a Uint32Array", "job");
  auto a = v.As<Napi::Uint32Array>();
  return std::vector<uint32_t>(a.Data(), a.Data() + a.ElementLength());
}

// Copies n bytes of a Uint8Array (TS has converted addresses and MACs already).
void Bytes(const Napi::Value& v, uint8_t* out, size_t n, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || v.As<Napi::Uint8Array>().ByteLength() < n)
    ThrowCode(v.Env(), "ERR_PROBE_ENGINE_OPTION", std::string(what) + ": expected " + std::to_string(n) + " bytes", what);
  std::memcpy(out, v.As<Napi::Uint8Array>().Data(), n);
}

// The normalised options object built by ts/probe-engine.ts.
EngineConfig ReadConfig(const Napi::Object& o) {
  Napi::Env env = o.Env();
  EngineConfig c;
  c.mode = static_cast<io::EngineMode>(static_cast<uint8_t>(Num(o, "mode")));
  Napi::Object job = o.Get("job").As<Napi::Object>();
  c.segments = Words(job, "segments");
  c.block_bits = Words(job, "blockBits");
  c.ports = Words(job, "ports");
  Napi::Value seed = job.Get("seed");
  if (!seed.IsBigInt()) ThrowCode(env, "ERR_PROBE_ENGINE_OPTION", "job.seed: expected a bigint", "job");
  bool lossless = false;
  c.seed = seed.As<Napi::BigInt>().Uint64Value(&lossless);
  c.natural = job.Get("natural").ToBoolean().Value();
  c.shard.index = static_cast<uint64_t>(Num(job, "shardIndex"));
  c.shard.count = static_cast<uint64_t>(Num(job, "shardCount"));
  c.position = static_cast<uint64_t>(Num(job, "position"));
  const double end = Num(o, "end");
  c.end = end < 0 ? UINT64_MAX : static_cast<uint64_t>(end);
  c.interface = o.Get("interface").As<Napi::String>().Utf8Value();
  c.ifindex = static_cast<int>(Num(o, "ifindex"));
  c.ethernet = o.Get("ethernet").ToBoolean().Value();
  if (c.ethernet) Bytes(o.Get("srcMac"), c.src_mac, 6, "link.srcMac");
  Napi::Value v4 = o.Get("srcV4"), v6 = o.Get("srcV6");
  if (v4.IsTypedArray()) {
    c.has_v4 = true;
    c.src_v4.family = 4;
    Bytes(v4, c.src_v4.bytes, 4, "link.srcV4");
  }
  if (v6.IsTypedArray()) {
    c.has_v6 = true;
    c.src_v6.family = 6;
    Bytes(v6, c.src_v6.bytes, 16, "link.srcV6");
  }
  Napi::Array routes = o.Get("routes").As<Napi::Array>();
  for (uint32_t i = 0; i < routes.Length(); ++i) {
    Napi::Object r = routes.Get(i).As<Napi::Object>();
    io::RouteEntry e;
    e.family = static_cast<uint8_t>(Num(r, "family"));
    e.prefix_len = static_cast<uint8_t>(Num(r, "prefixLen"));
    Bytes(r.Get("addr"), e.addr, e.family == 6 ? 16 : 4, "link.routes");
    e.has_mac = r.Get("mac").IsTypedArray();
    if (e.has_mac) Bytes(r.Get("mac"), e.mac, 6, "link.routes");
    c.routes.push_back(e);
  }
  Napi::Array neighbors = o.Get("neighbors").As<Napi::Array>();
  for (uint32_t i = 0; i < neighbors.Length(); ++i) {
    Napi::Object r = neighbors.Get(i).As<Napi::Object>();
    io::NeighborEntry e;
    e.family = static_cast<uint8_t>(Num(r, "family"));
    Bytes(r.Get("addr"), e.addr, e.family == 6 ? 16 : 4, "link.neighbors");
    Bytes(r.Get("mac"), e.mac, 6, "link.neighbors");
    c.neighbors.push_back(e);
  }
  c.mtu = static_cast<uint32_t>(Num(o, "mtu"));
  c.port_first = static_cast<uint16_t>(Num(o, "portFirst"));
  c.port_count = static_cast<uint16_t>(Num(o, "portCount"));
  c.rate = Num(o, "rate");
  c.max_retries = static_cast<uint32_t>(Num(o, "maxRetries"));
  c.initial_rtt_ms = Num(o, "initialRttMs");
  c.min_rtt_ms = Num(o, "minRttMs");
  c.max_rtt_ms = Num(o, "maxRttMs");
  c.window = static_cast<uint32_t>(Num(o, "window"));
  Napi::Array payloads = o.Get("udpPayloads").As<Napi::Array>();
  for (uint32_t i = 0; i < payloads.Length(); ++i) {
    Napi::Object p = payloads.Get(i).As<Napi::Object>();
    Napi::Uint8Array data = p.Get("payload").As<Napi::Uint8Array>();
    c.udp_payloads.emplace_back(static_cast<uint16_t>(Num(p, "port")), std::vector<uint8_t>(data.Data(), data.Data() + data.ByteLength()));
  }
  Napi::Array disc = o.Get("discovery").As<Napi::Array>();
  for (uint32_t i = 0; i < disc.Length(); ++i) {
    Napi::Object d = disc.Get(i).As<Napi::Object>();
    io::DiscoverySpec s;
    s.method = static_cast<io::DiscoveryMethod>(static_cast<uint8_t>(Num(d, "method")));
    s.port = static_cast<uint16_t>(Num(d, "port"));
    c.discovery.push_back(s);
  }
  uint8_t key[16];
  Bytes(o.Get("cookieKey"), key, 16, "cookieKey");
  std::memcpy(&c.key.k0, key, 8);
  std::memcpy(&c.key.k1, key + 8, 8);
  c.ttl = static_cast<uint8_t>(Num(o, "ttl"));
  c.linger_ms = static_cast<uint32_t>(Num(o, "lingerMs"));
  c.capture = o.Get("capture").ToBoolean().Value();
  return c;
}

void FinishedCallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, void*) {
  if (env == nullptr || fn == nullptr) return;
  napi_value result;
  napi_call_function(env, env.Undefined(), fn, 0, nullptr, &result);
}
using FinishedFn = Napi::TypedThreadSafeFunction<std::nullptr_t, void, FinishedCallJs>;

// new ProbeEngine(options, repliesHandle, outcomesHandle, onFinished)
class ProbeEngineWrap : public Napi::ObjectWrap<ProbeEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ProbeEngine",
                       {InstanceMethod<&ProbeEngineWrap::Start>("start"), InstanceMethod<&ProbeEngineWrap::Pause>("pause"),
                        InstanceMethod<&ProbeEngineWrap::Resume>("resume"), InstanceMethod<&ProbeEngineWrap::SetRate>("setRate"),
                        InstanceMethod<&ProbeEngineWrap::SkipHosts>("skipHosts"),
                        InstanceMethod<&ProbeEngineWrap::Counters>("counters"), InstanceMethod<&ProbeEngineWrap::Stop>("stop"),
                        InstanceMethod<&ProbeEngineWrap::Finished>("finished")});
  }

  explicit ProbeEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeEngineWrap>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsObject() || !info[3].IsFunction())
      throw Napi::TypeError::New(env, "ProbeEngine: expects (options, replies, outcomes, onFinished)");
    // Without CAP_NET_RAW: code 'EPERM' and the fixes, before any socket or thread exists.
    io::ThrowIfNoRawPrivilege(env);
    EngineConfig cfg = ReadConfig(info[0].As<Napi::Object>());
    replies_ = RingFromJs(env, info[1]);
    outcomes_ = RingFromJs(env, info[2]);
    EnvThreads& threads = GetAddonData(env).threads;
    if (threads.shutting_down()) throw Napi::Error::New(env, "ProbeEngine: the environment is shutting down");
    tsfn_ = FinishedFn::New(env, info[3].As<Napi::Function>(), "portflow.probeEngine.finished", 0, 1);
    has_tsfn_ = true;
    tsfn_.Unref(env);
    // After the TSFN: runs before its teardown, so the threads are joined while it is valid.
    napi_add_env_cleanup_hook(env, &ProbeEngineWrap::EnvCleanup, this);
    hook_ = true;
    const uint32_t cfg_window = cfg.window;
    try {
      engine_ = std::make_unique<Engine>(std::move(cfg), replies_, outcomes_, [this] { tsfn_.NonBlockingCall(); });
    } catch (const io::EngineConfigError& e) {
      Dispose();
      ThrowCode(env, "ERR_PROBE_ENGINE_OPTION", e.what(), e.option);
    } catch (const io::SocketError& e) {
      Dispose();
      ThrowCode(env, e.err == EPERM ? "EPERM" : e.err == EBUSY ? "ERR_PROBE_ENGINE_RING" : "ERR_PROBE_ENGINE_SOCKET", e.what());
    } catch (const std::invalid_argument& e) {
      Dispose();
      ThrowCode(env, "ERR_PROBE_ENGINE_OPTION", e.what());
    } catch (const std::bad_alloc&) {
      // A window of millions of probes on a small machine: the hook and TSFN must not
      // outlive this half-built object (the hook would run on freed memory at exit).
      Dispose();
      ThrowCode(env, "ERR_PROBE_ENGINE_OPTION", "window: cannot allocate the in-flight state for " + std::to_string(cfg_window) + " probes; use a smaller window", "window");
    } catch (const std::exception& e) {
      Dispose();
      ThrowCode(env, "ERR_PROBE_ENGINE_SOCKET", std::string("ProbeEngine: ") + e.what());
    }
    // The sender produces outcomes; the capture attached itself to replies when it was built.
    if (!outcomes_->AttachProducer(engine_.get())) {
      Dispose();
      ThrowCode(env, "ERR_PROBE_ENGINE_RING", "ProbeEngine: the outcomes ring already has a producer");
    }
    attached_ = true;
    threads.Add(engine_.get());
    registered_ = true;
    napi_type_tag_object(env, info.This(), &kEngineTag);
  }

  ~ProbeEngineWrap() override { Dispose(); }

 private:
  static void EnvCleanup(void* arg) {
    auto* self = static_cast<ProbeEngineWrap*>(arg);
    self->hook_ = false;
    GetAddonData(self->env_).threads.StopAll();
    self->Dispose();
  }

  // Threads stopped and joined, sockets closed, rings detached, TSFN released. Idempotent.
  void Dispose() {
    if (engine_) {
      engine_->RequestStop();
      engine_->Join();
      if (attached_) {
        outcomes_->DetachProducer(engine_.get());
        attached_ = false;
      }
      if (registered_) GetAddonData(env_).threads.Remove(engine_.get());
      registered_ = false;
      counters_at_stop_ = engine_->counters();
      have_final_ = true;
      engine_.reset();
    }
    if (hook_) {
      napi_remove_env_cleanup_hook(env_, &ProbeEngineWrap::EnvCleanup, this);
      hook_ = false;
    }
    if (has_tsfn_) {
      has_tsfn_ = false;
      tsfn_.Release();
    }
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (!engine_) ThrowCode(info.Env(), "ERR_PROBE_ENGINE_STATE", "ProbeEngine: stopped; create a new engine");
    // Referenced while running: the process stays up until the engine is done or stopped.
    if (has_tsfn_) tsfn_.Ref(info.Env());
    try {
      engine_->Start();
    } catch (const io::SocketError& e) {
      if (has_tsfn_) tsfn_.Unref(info.Env());
      ThrowCode(info.Env(), e.err == EPERM ? "EPERM" : "ERR_PROBE_ENGINE_SOCKET", e.what());
    } catch (const io::EngineStateError& e) {
      if (has_tsfn_) tsfn_.Unref(info.Env());
      ThrowCode(info.Env(), "ERR_PROBE_ENGINE_STATE", e.what());
    } catch (const std::system_error& e) {  // no thread could be created
      if (has_tsfn_) tsfn_.Unref(info.Env());
      ThrowCode(info.Env(), "ERR_PROBE_ENGINE_SOCKET", std::string("ProbeEngine: cannot start its threads: ") + e.what());
    }
    return info.Env().Undefined();
  }
  Napi::Value Pause(const Napi::CallbackInfo& info) {
    if (engine_) engine_->Pause();
    return info.Env().Undefined();
  }
  Napi::Value Resume(const Napi::CallbackInfo& info) {
    if (engine_) engine_->Resume();
    return info.Env().Undefined();
  }
  Napi::Value SetRate(const Napi::CallbackInfo& info) {
    if (engine_) engine_->SetRate(info[0].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
  }
  // skipHosts(addresses: string[]): the TS wrapper has checked them; a bad one is a TypeError.
  Napi::Value SkipHosts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "skipHosts: expects an array of IP addresses");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<IpAddress> hosts(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      IpAddress& a = hosts[i];
      const std::string text = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
      if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) a.family = 4;
      else if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) a.family = 6;
      else throw Napi::TypeError::New(env, "skipHosts: addresses[" + std::to_string(i) + "] is not an IPv4 or IPv6 address");
    }
    if (engine_) engine_->SkipHosts(hosts);
    return env.Undefined();
  }
  Napi::Value Finished(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), engine_ ? engine_->finished() : false);
  }
  // Writes the counters into a Float64Array (no object per call).
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    io::EngineCounters c = engine_ ? engine_->counters() : counters_at_stop_;
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    if (out.ElementLength() < 20) throw Napi::RangeError::New(info.Env(), "counters: need 20 slots");
    double* d = out.Data();
    const double v[20] = {double(c.sent), double(c.probes), double(c.retries), double(c.received), double(c.matched),
                          double(c.duplicates), double(c.strays), double(c.ring_overflows), double(c.kernel_drops),
                          double(c.softnet_drops), double(c.send_backpressure), double(c.low_water), double(c.high_water),
                          double(c.in_flight), c.achieved_rate, double(c.send_errors), double(c.no_route), double(c.answered_full),
                          double(c.skipped), double(c.capture_errors)};
    std::memcpy(d, v, sizeof v);
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Dispose();
    return info.Env().Undefined();
  }

  napi_env env_;
  std::shared_ptr<RecordRing> replies_, outcomes_;
  std::unique_ptr<Engine> engine_;
  FinishedFn tsfn_;
  bool has_tsfn_ = false, hook_ = false, attached_ = false, registered_ = false, have_final_ = false;
  io::EngineCounters counters_at_stop_{};
};

}  // namespace

void InitProbeEngine(Napi::Env env, Napi::Object exports) { exports.Set("ProbeEngine", ProbeEngineWrap::Define(env)); }

}  // namespace portflow
