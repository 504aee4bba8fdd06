#include "ring/ring_binding.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <thread>

#include "bench/bench_binding.h"
#include "common/env_threads.h"
#include "ring/record_ring.h"
#include "ring/test_producer.h"

namespace portflow {

namespace {

// Type tags make Unwrap safe against objects of the addon's other classes.
constexpr napi_type_tag kRingTag = {0x706f7274666c6f77ULL, 0x72696e6701000000ULL};

double NumberArg(const Napi::Object& o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// Calls the JS drain. Raw napi_call_function, never a C++ throw: while a worker is being
// terminated the call fails, and an exception escaping a TSFN callback would abort.
// Handler errors never reach here (ts/ring.ts routes them to the ring's onError).
void DoorbellCallJs(Napi::Env env, Napi::Function fn, std::nullptr_t*, void*) {
  if (env == nullptr || fn == nullptr) return;
  napi_value result;
  napi_call_function(env, env.Undefined(), fn, 0, nullptr, &result);
}
using Doorbell = Napi::TypedThreadSafeFunction<std::nullptr_t, void, DoorbellCallJs>;

// The JS face of a RecordRing: the external ArrayBuffer over its slots, the per-batch
// sync, and the doorbell ThreadSafeFunction.
class RingWrap : public Napi::ObjectWrap<RingWrap>, public Waker {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RecordRing",
                       {InstanceMethod<&RingWrap::Buffer>("buffer"), InstanceMethod<&RingWrap::Sync>("sync"),
                        InstanceMethod<&RingWrap::Overflow>("overflow"), InstanceMethod<&RingWrap::Stats>("stats"),
                        InstanceMethod<&RingWrap::Ref>("ref"), InstanceMethod<&RingWrap::Unref>("unref"),
                        InstanceMethod<&RingWrap::Close>("close")});
  }

  // new RecordRing(capacity, onReadable?)
  explicit RingWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingWrap>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "RecordRing: capacity must be a number");
    const double cap = info[0].As<Napi::Number>().DoubleValue();
    if (!(cap >= 2 && cap <= 2147483648.0) || cap != static_cast<double>(static_cast<uint64_t>(cap))) {
      throw Napi::RangeError::New(env, "RecordRing: capacity must be a power of two from 2 to 2^31");
    }
    try {
      core_ = std::make_shared<RecordRing>(static_cast<size_t>(cap));
    } catch (const std::invalid_argument& e) {
      throw Napi::RangeError::New(env, std::string("RecordRing: ") + e.what());
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "RecordRing: cannot allocate " + std::to_string(static_cast<uint64_t>(cap) * kRecordSize) + " bytes");
    }
    napi_type_tag_object(env, info.This(), &kRingTag);
    if (info.Length() > 1 && info[1].IsFunction()) {
      tsfn_ = Doorbell::New(env, info[1].As<Napi::Function>(), "portflow.ring.doorbell", 0, 1);
      // Idle rings must not keep the process alive; ref() while a producer runs.
      tsfn_.Unref(env);
      has_tsfn_ = true;
      core_->SetWaker(this);
      // Registered after the TSFN, so it runs before the TSFN's own teardown (hooks run in
      // reverse order): producers are joined while the TSFN is still valid.
      napi_add_env_cleanup_hook(env, &RingWrap::EnvCleanup, this);
      hook_registered_ = true;
    }
  }

  ~RingWrap() override {
    if (hook_registered_) napi_remove_env_cleanup_hook(env_, &RingWrap::EnvCleanup, this);
    hook_registered_ = false;
    Shutdown();
  }

  void Wake() override { tsfn_.NonBlockingCall(); }

  static RingWrap* FromValue(Napi::Env env, Napi::Value v) {
    bool ok = false;
    if (v.IsObject()) napi_check_object_type_tag(env, v, &kRingTag, &ok);
    if (!ok) throw Napi::TypeError::New(env, "expected a RecordRing");
    return Unwrap(v.As<Napi::Object>());
  }

  const std::shared_ptr<RecordRing>& core() const { return core_; }
  bool closed() const { return closed_; }

 private:
  static void EnvCleanup(void* arg) {
    auto* self = static_cast<RingWrap*>(arg);
    self->hook_registered_ = false;
    // Every addon thread may hold this or another ring's TSFN: stop them all now.
    GetAddonData(self->env_).threads.StopAll();
    self->Shutdown();
  }

  // Producer joined, then the doorbell closed: nothing calls the TSFN afterwards.
  void Shutdown() {
    if (core_) core_->StopProducer();
    if (core_) core_->SetWaker(nullptr);
    if (has_tsfn_) {
      has_tsfn_ = false;
      tsfn_.Release();
    }
  }

  // The slots as one external ArrayBuffer, created once; JS keeps views over it.
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    if (closed_) throw Napi::Error::New(info.Env(), "RecordRing is closed");
    if (ab_ref_.IsEmpty()) {
      auto* hold = new std::shared_ptr<RecordRing>(core_);  // the memory outlives any view
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
          info.Env(), core_->ring().slots(), core_->ring().capacity() * kRecordSize,
          [](Napi::Env, void*, std::shared_ptr<RecordRing>* h) { delete h; }, hold);
      ab_ref_ = Napi::Persistent(ab);
    }
    return ab_ref_.Value();
  }

  // sync(consumed, clearIfEmpty) -> readable records. One call per batch.
  Napi::Value Sync(const Napi::CallbackInfo& info) {
    if (closed_) return Napi::Number::New(info.Env(), 0);
    const double consumed = info[0].As<Napi::Number>().DoubleValue();
    const bool clear = info.Length() > 1 && info[1].ToBoolean().Value();
    return Napi::Number::New(info.Env(), static_cast<double>(core_->Sync(static_cast<uint64_t>(consumed), clear)));
  }

  Napi::Value Overflow(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(core_->overflow()));
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("capacity", static_cast<double>(core_->ring().capacity()));
    o.Set("produced", static_cast<double>(core_->ring().head()));
    o.Set("consumed", static_cast<double>(core_->ring().tail()));
    o.Set("overflow", static_cast<double>(core_->overflow()));
    o.Set("wakeups", static_cast<double>(core_->wakeups()));
    return o;
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (has_tsfn_) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (has_tsfn_) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  // Stops the producer, closes the doorbell and detaches the ArrayBuffer so no JS view
  // can read the slots after this (the memory itself is freed with the last reference).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    closed_ = true;
    if (hook_registered_) {
      napi_remove_env_cleanup_hook(env_, &RingWrap::EnvCleanup, this);
      hook_registered_ = false;
    }
    Shutdown();
    if (!ab_ref_.IsEmpty()) {
      Napi::ArrayBuffer ab = ab_ref_.Value();
      ab.Detach();
      ab_ref_.Reset();
    }
    return info.Env().Undefined();
  }

  napi_env env_;
  std::shared_ptr<RecordRing> core_;
  Doorbell tsfn_;
  bool has_tsfn_ = false;
  bool hook_registered_ = false;
  bool closed_ = false;
  Napi::Reference<Napi::ArrayBuffer> ab_ref_;
};

// new TestProducer(ring, { count, rate, batch, emitCounters, producerId }): starts at once.
class ProducerWrap : public Napi::ObjectWrap<ProducerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TestProducer",
                       {InstanceMethod<&ProducerWrap::Done>("done"), InstanceMethod<&ProducerWrap::Produced>("produced"),
                        InstanceMethod<&ProducerWrap::Stop>("stop"), InstanceMethod<&ProducerWrap::JoinJs>("join")});
  }

  explicit ProducerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProducerWrap>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    RingWrap* ring = RingWrap::FromValue(env, info[0]);
    if (ring->closed()) throw Napi::Error::New(env, "TestProducer: the ring is closed");
    if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "TestProducer: expects (ring, options)");
    Napi::Object o = info[1].As<Napi::Object>();
    TestProducerOptions opt;
    opt.count = static_cast<uint64_t>(NumberArg(o, "count", 0));
    opt.rate = NumberArg(o, "rate", 0);
    opt.batch = static_cast<uint32_t>(NumberArg(o, "batch", 64));
    opt.producer_id = static_cast<uint16_t>(NumberArg(o, "producerId", 0));
    opt.emit_counters = o.Get("emitCounters").ToBoolean().Value();
    opt.block_when_full = o.Get("blockWhenFull").ToBoolean().Value();
    ring_ref_ = Napi::Persistent(info[0].As<Napi::Object>());  // the ring outlives its producer
    core_ = ring->core();
    producer_ = std::make_unique<TestProducer>(core_, opt);
    if (!core_->AttachProducer(producer_.get())) {
      producer_.reset();
      throw Napi::Error::New(env, "TestProducer: this ring already has a producer (one ring per producer thread)");
    }
    EnvThreads& threads = GetAddonData(env).threads;
    if (threads.shutting_down()) {
      core_->DetachProducer(producer_.get());
      producer_.reset();
      throw Napi::Error::New(env, "TestProducer: the environment is shutting down");
    }
    threads.Add(producer_.get());
    registered_ = true;
    producer_->Start();
  }

  ~ProducerWrap() override { Dispose(); }

 private:
  void Dispose() {
    if (!producer_) return;
    producer_->RequestStop();
    producer_->Join();
    produced_at_stop_ = producer_->produced();
    core_->DetachProducer(producer_.get());
    if (registered_) GetAddonData(env_).threads.Remove(producer_.get());
    registered_ = false;
    producer_.reset();
  }

  Napi::Value Done(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), producer_ ? producer_->done() : done_at_stop_); }
  Napi::Value Produced(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(producer_ ? producer_->produced() : produced_at_stop_));
  }
  // Stops and joins the thread and detaches it from the ring, which may then take a new producer.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (producer_) done_at_stop_ = producer_->done();
    Dispose();
    return info.Env().Undefined();
  }
  // Blocks the JS thread until the producer finishes: tests use it to stall the consumer.
  Napi::Value JoinJs(const Napi::CallbackInfo& info) {
    if (producer_) producer_->Join();
    return info.Env().Undefined();
  }

  napi_env env_;
  std::shared_ptr<RecordRing> core_;
  std::unique_ptr<TestProducer> producer_;
  Napi::ObjectReference ring_ref_;
  bool registered_ = false;
  bool done_at_stop_ = false;
  uint64_t produced_at_stop_ = 0;
};

// bench.ringNativeToNative(records, capacity = 65536, batch = 256) -> records per second
// between two native threads: the producer fills each 64-byte record in place and
// publishes every `batch` records (a sendmmsg batch, a capture block), the consumer reads
// spans and checks order, releasing once per span. Publishing per record instead makes the
// consumer chase the producer's cache lines: 256 ran at about twice the rate of 64 here.
Napi::Value RingNativeToNative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  const double cap = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 65536;
  const double batch_arg = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 256;
  if (!(batch_arg >= 1 && batch_arg <= 1 << 20)) throw Napi::RangeError::New(env, "bench.ringNativeToNative: batch must be 1..2^20");
  const uint64_t batch = static_cast<uint64_t>(batch_arg);
  if (!(n >= 1 && n <= 1e11)) throw Napi::RangeError::New(env, "bench.ringNativeToNative: records must be 1..1e11");
  std::unique_ptr<RecordRing> ring;
  try {
    ring = std::make_unique<RecordRing>(static_cast<size_t>(cap));
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, std::string("bench.ringNativeToNative: ") + e.what());
  }
  const uint64_t count = static_cast<uint64_t>(n);
  uint64_t bad = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread producer([&] {
    const double t = WallClockMs();
    for (uint64_t i = 0; i < count; ++i) {
      Record* r;
      // Spin briefly, then yield: on a shared core the consumer may need this one to run.
      for (int spins = 0; (r = ring->ring().Claim()) == nullptr;) {
        if (++spins > 64) std::this_thread::yield();
      }
      TestProducer::FillRecord(r, i, t, 0);
      ring->Commit();
      if ((i + 1) % batch == 0) ring->ring().Flush();
    }
    ring->ring().Flush();
  });
  uint64_t expect = 0;
  SpscRing<Record>& q = ring->ring();
  int idle = 0;
  while (expect < count) {
    const size_t avail = q.Available();
    if (avail == 0) {
      if (++idle > 64) std::this_thread::yield();
      continue;
    }
    idle = 0;
    for (size_t k = 0; k < avail; ++k) {
      const uint8_t* b = q.Peek(k).bytes;
      if (LoadLe<uint32_t>(b + rec::kSeq) != static_cast<uint32_t>(expect)) ++bad;
      ++expect;
    }
    if (avail) q.Release(avail);
  }
  producer.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (bad) throw Napi::Error::New(env, "bench.ringNativeToNative: " + std::to_string(bad) + " records out of order");
  return Napi::Number::New(env, static_cast<double>(count) / secs);
}

// writeSampleRecords(ring): one record of every kind, written with the C++ offsets, so the
// TypeScript decoder is tested against record.h itself. Only for tests; needs a ring with
// no producer attached (this call is its producer for the duration).
Napi::Value WriteSampleRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<RecordRing> ring = RingFromJs(env, info[0]);
  struct Once : OwnedThread {
    void RequestStop() override {}
    void Join() override {}
  } self;
  if (!ring->AttachProducer(&self)) throw Napi::Error::New(env, "writeSampleRecords: the ring already has a producer");
  const double t = 1700000000123.5;
  auto put = [&](auto&& fill) {
    if (Record* r = ring->Claim()) {
      fill(r->bytes);
      ring->Commit();
    }
  };
  auto v4 = [](uint8_t* at, uint8_t a, uint8_t b, uint8_t c, uint8_t d) { at[0] = a, at[1] = b, at[2] = c, at[3] = d; };
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kTcpReply, 6, t);
    b[rec::kFlags] = record_flag::kDontFragment | record_flag::kHasTimestamps | record_flag::kHasMss | record_flag::kHasWindowScale | record_flag::kSackPermitted;
    StoreLe<uint16_t>(b + rec::kPort, 443);
    StoreLe<uint16_t>(b + rec::kLocalPort, 40000);
    const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(b + rec::kAddr, a6, 16);
    StoreLe<uint32_t>(b + rec::kSeq, 0x11111111);
    StoreLe<uint32_t>(b + rec::kAck, 0x22222222);
    StoreLe<uint32_t>(b + rec::kTsval, 0x33333333);
    StoreLe<uint32_t>(b + rec::kOptionSig, 0x42953);
    b[rec::kTtl] = 57;
    b[rec::kTcpFlags] = 0x12;
    b[rec::kWindowScale] = 7;
    b[rec::kProto] = 6;
    StoreLe<uint16_t>(b + rec::kWindow, 65535);
    StoreLe<uint16_t>(b + rec::kMss, 1440);
    StoreLe<uint32_t>(b + rec::kEchoedSend, 123456);
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kUdpReply, 4, t);
    StoreLe<uint16_t>(b + rec::kPort, 53);
    StoreLe<uint16_t>(b + rec::kLocalPort, 40001);
    v4(b + rec::kAddr, 192, 0, 2, 7);
    StoreLe<uint32_t>(b + rec::kCount, 42);
    b[rec::kTtl] = 63;
    b[rec::kProto] = 17;
    StoreLe<uint16_t>(b + rec::kIpId, 4321);
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kIcmpError, 4, t);
    StoreLe<uint16_t>(b + rec::kPort, 161);
    StoreLe<uint16_t>(b + rec::kLocalPort, 40002);
    v4(b + rec::kAddr, 192, 0, 2, 8);
    v4(b + rec::kReporter, 198, 51, 100, 1);
    b[rec::kTtl] = 250;
    b[rec::kIcmpType] = 3;
    b[rec::kIcmpCode] = 13;
    b[rec::kProto] = 17;
    StoreLe<uint16_t>(b + rec::kIpId, 77);
    StoreLe<uint32_t>(b + rec::kQuotedSeq, 0xdeadbeef);
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kNeighborReply, 6, t);
    b[rec::kFlags] = record_flag::kNdp;
    const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::memcpy(b + rec::kAddr, ll, 16);
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x09};
    std::memcpy(b + rec::kMac, mac, 6);
    b[rec::kTtl] = 255;
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kNoAnswer, 4, t);
    StoreLe<uint16_t>(b + rec::kPort, 22);
    StoreLe<uint16_t>(b + rec::kLocalPort, 40003);
    v4(b + rec::kAddr, 192, 0, 2, 9);
    StoreLe<uint32_t>(b + rec::kCount, 2);
    b[rec::kProto] = 6;
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kRetriesSent, 0, t);
    StoreLe<uint32_t>(b + rec::kCount, 1000);
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kCounters, 0, t);
    StoreLe<uint16_t>(b + rec::kProducerId, 3);
    StoreLe<double>(b + rec::kCtrSent, 10);
    StoreLe<double>(b + rec::kCtrReceived, 5);
    StoreLe<double>(b + rec::kCtrRetries, 2);
    StoreLe<double>(b + rec::kCtrOverflow, 1);
    StoreLe<double>(b + rec::kCtrParseErrors, 0);
    StoreLe<double>(b + rec::kCtrKernelDrops, 4);
  });
  put([&](uint8_t* b) {
    BeginRecord(reinterpret_cast<Record*>(b), RecordKind::kIcmpReply, 4, t);
    v4(b + rec::kAddr, 192, 0, 2, 10);
    b[rec::kIcmpType] = 0;
    b[rec::kProto] = 1;
    StoreLe<uint16_t>(b + rec::kEchoId, 7);
    StoreLe<uint16_t>(b + rec::kEchoSeq, 9);
    StoreLe<uint32_t>(b + rec::kEchoedSend, 999);
    b[rec::kTtl] = 64;
  });
  ring->Publish();
  ring->DetachProducer(&self);
  return env.Undefined();
}

// bench.threadCpuTimeNs(): CPU time of the calling thread (the JS main thread's cost of a drain).
Napi::Value ThreadCpuTimeNs(const Napi::CallbackInfo& info) {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return Napi::Number::New(info.Env(), static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec));
}

}  // namespace

std::shared_ptr<RecordRing> RingFromJs(Napi::Env env, Napi::Value handle) {
  RingWrap* ring = RingWrap::FromValue(env, handle);
  if (ring->closed()) throw Napi::Error::New(env, "the ring is closed");
  return ring->core();
}

void InitRing(Napi::Env env, Napi::Object exports) {
  exports.Set("RecordRing", RingWrap::Define(env));
  exports.Set("TestProducer", ProducerWrap::Define(env));
  Napi::Object fmt = Napi::Object::New(env);
  fmt.Set("version", kRecordVersion);
  fmt.Set("size", static_cast<double>(kRecordSize));
  exports.Set("recordFormat", fmt);
  exports.Set("writeSampleRecords", Napi::Function::New(env, WriteSampleRecords, "writeSampleRecords"));
  Napi::Object bench = BenchObject(env, exports);
  bench.Set("ringNativeToNative", Napi::Function::New(env, RingNativeToNative, "ringNativeToNative"));
  bench.Set("threadCpuTimeNs", Napi::Function::New(env, ThreadCpuTimeNs, "threadCpuTimeNs"));
}

}  // namespace portflow
