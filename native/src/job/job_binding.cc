#include "job/job_binding.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "bench/bench_binding.h"
#include "job/scan_job.h"

namespace portflow {

namespace {

using job::Probe;
using job::ScanJob;

// JS numbers that stand for positions and indices: exact integers below 2^53.
constexpr double kMaxExact = 9007199254740992.0;

[[noreturn]] void ThrowCode(Napi::Env env, const char* code, const std::string& msg, bool range = true) {
  if (range) {
    Napi::RangeError e = Napi::RangeError::New(env, msg);
    e.Set("code", Napi::String::New(env, code));
    throw e;
  }
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

uint64_t ToPosition(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) ThrowCode(env, "ERR_JOB_ARGUMENT", std::string(what) + " must be a number", false);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < kMaxExact) || std::floor(d) != d)
    ThrowCode(env, "ERR_JOB_ARGUMENT", std::string(what) + " must be an integer from 0 to 2^53 - 1");
  return static_cast<uint64_t>(d);
}

const uint32_t* Words(Napi::Env env, const Napi::Object& o, const char* key, size_t* n) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    ThrowCode(env, "ERR_JOB_LAYOUT", std::string("Job: ") + key + " must be a Uint32Array", false);
  auto a = v.As<Napi::Uint32Array>();
  *n = a.ElementLength();
  return a.Data();
}

Napi::Value Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

class JobWrap : public Napi::ObjectWrap<JobWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Job",
                       {
                           InstanceAccessor<&JobWrap::Count>("count"),
                           InstanceAccessor<&JobWrap::Length>("length"),
                           InstanceAccessor<&JobWrap::HostCount>("hostCount"),
                           InstanceAccessor<&JobWrap::PortCount>("portCount"),
                           InstanceAccessor<&JobWrap::LowWater>("lowWater"),
                           InstanceAccessor<&JobWrap::HighWater>("highWater"),
                           InstanceMethod<&JobWrap::NextBatch>("nextBatch"),
                           InstanceMethod<&JobWrap::ProbeAt>("probeAt"),
                           InstanceMethod<&JobWrap::IndexAt>("indexAt"),
                           InstanceMethod<&JobWrap::PositionOf>("positionOf"),
                           InstanceMethod<&JobWrap::IndexOf>("indexOf"),
                           InstanceMethod<&JobWrap::MarkDone>("markDone"),
                           InstanceMethod<&JobWrap::MarkDoneRange>("markDoneRange"),
                           InstanceMethod<&JobWrap::BenchMap>("benchMap"),
                       });
  }

  // new Job({ segments, blockBits, ports, seed: bigint, natural, shardIndex,
  //           shardCount, position })
  explicit JobWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JobWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject())
      ThrowCode(env, "ERR_JOB_LAYOUT", "Job: expects a layout object (build it with @portflow/scanner)", false);
    Napi::Object o = info[0].As<Napi::Object>();
    size_t nseg, nbits, nports;
    const uint32_t* seg = Words(env, o, "segments", &nseg);
    const uint32_t* bits = Words(env, o, "blockBits", &nbits);
    const uint32_t* ports = Words(env, o, "ports", &nports);
    Napi::Value seed_v = o.Get("seed");
    if (!seed_v.IsBigInt()) ThrowCode(env, "ERR_JOB_LAYOUT", "Job: seed must be a bigint", false);
    bool lossless = false;
    uint64_t seed = seed_v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowCode(env, "ERR_JOB_LAYOUT", "Job: seed must be an integer from 0 to 2^64 - 1");
    Napi::Value natural_v = o.Get("natural");
    if (!natural_v.IsBoolean()) ThrowCode(env, "ERR_JOB_LAYOUT", "Job: natural must be a boolean", false);
    job::ShardSpec shard{ToPosition(env, o.Get("shardIndex"), "Job: shardIndex"),
                         ToPosition(env, o.Get("shardCount"), "Job: shardCount")};
    uint64_t position = ToPosition(env, o.Get("position"), "Job: position");
    std::string err = job_.init(seg, nseg, bits, nbits, ports, nports, seed, natural_v.As<Napi::Boolean>().Value(),
                                shard, position);
    if (!err.empty()) {
      const char* code = err.find("2^53") != std::string::npos ? "ERR_JOB_TOO_LARGE"
                         : err.rfind("shard", 0) == 0     ? "ERR_JOB_SHARD"
                         : err.rfind("start position", 0) == 0 ? "ERR_JOB_POSITION"
                                                                 : "ERR_JOB_LAYOUT";
      ThrowCode(env, code, "Job: " + err);
    }
  }

 private:
  Napi::Value Count(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.count()); }
  Napi::Value Length(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.length()); }
  Napi::Value HostCount(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.space().host_count()); }
  Napi::Value PortCount(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.space().port_count()); }
  Napi::Value LowWater(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.low_water()); }
  Napi::Value HighWater(const Napi::CallbackInfo& info) { return Num(info.Env(), job_.high_water()); }

  // Probe records go straight into the caller's buffer: 32 bytes each, 8-byte
  // aligned (see index_space.h for the layout).
  Probe* Records(Napi::Env env, const Napi::Value& v, size_t* capacity) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      ThrowCode(env, "ERR_JOB_ARGUMENT", "records must be a Uint8Array", false);
    auto a = v.As<Napi::Uint8Array>();
    if (reinterpret_cast<uintptr_t>(a.Data()) % alignof(Probe) != 0)
      ThrowCode(env, "ERR_JOB_ARGUMENT", "records must start at an 8-byte aligned offset");
    *capacity = a.ByteLength() / sizeof(Probe);
    return reinterpret_cast<Probe*>(a.Data());
  }

  // nextBatch(records: Uint8Array, max: number) -> probes written, starting at
  // the high water position read before the call.
  Napi::Value NextBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t capacity;
    Probe* out = Records(env, info[0], &capacity);
    uint64_t max = ToPosition(env, info[1], "max");
    if (max > capacity) ThrowCode(env, "ERR_JOB_ARGUMENT", "max is larger than the records buffer holds");
    return Num(env, job_.next_batch(out, static_cast<size_t>(max)));
  }

  Napi::Value ProbeAt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t pos = Position(env, info[0]);
    size_t capacity;
    Probe* out = Records(env, info[1], &capacity);
    if (capacity < 1) ThrowCode(env, "ERR_JOB_ARGUMENT", "records must hold at least one 32-byte record");
    job_.probe_at(pos, *out);
    return env.Undefined();
  }

  uint64_t Position(Napi::Env env, const Napi::Value& v) {
    uint64_t pos = ToPosition(env, v, "position");
    if (pos >= job_.length())
      ThrowCode(env, "ERR_JOB_POSITION",
                "position " + std::to_string(pos) + " is outside this shard's " + std::to_string(job_.length()) +
                    " positions");
    return pos;
  }

  Napi::Value IndexAt(const Napi::CallbackInfo& info) {
    return Num(info.Env(), job_.index_at(Position(info.Env(), info[0])));
  }

  Napi::Value PositionOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t index = ToPosition(env, info[0], "index");
    if (index >= job_.count()) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(job_.position_of(index)));
  }

  // indexOf(family: 4 | 6, address: Uint8Array (4 or 16 bytes), port, kind) -> index or -1
  Napi::Value IndexOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t family = ToPosition(env, info[0], "family");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      ThrowCode(env, "ERR_JOB_ARGUMENT", "address must be a Uint8Array", false);
    auto a = info[1].As<Napi::Uint8Array>();
    if (!((family == 4 && a.ElementLength() >= 4) || (family == 6 && a.ElementLength() >= 16)))
      ThrowCode(env, "ERR_JOB_ARGUMENT", "address must be 4 bytes for family 4 or 16 bytes for family 6");
    uint64_t port = ToPosition(env, info[2], "port");
    uint64_t kind = ToPosition(env, info[3], "kind");
    if (port > 65535 || kind > 255) return Napi::Number::New(env, -1);
    uint8_t addr[16] = {};
    std::memcpy(addr, a.Data(), family == 4 ? 4 : 16);
    int64_t idx = job_.space().index_of(static_cast<uint8_t>(family), addr, static_cast<uint16_t>(port),
                                        static_cast<uint8_t>(kind));
    return Napi::Number::New(env, static_cast<double>(idx));
  }

  // markDone(position) -> true when newly done, false when it already was;
  // throws for a position never handed out.
  Napi::Value MarkDone(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t pos = ToPosition(env, info[0], "position");
    auto r = job_.mark_done(pos);
    if (r == job::ProgressWindow::Mark::kNotIssued)
      ThrowCode(env, "ERR_JOB_POSITION",
                "position " + std::to_string(pos) + " was never handed out (high water " +
                    std::to_string(job_.high_water()) + ")");
    return Napi::Boolean::New(env, r == job::ProgressWindow::Mark::kDone);
  }

  Napi::Value MarkDoneRange(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t start = ToPosition(env, info[0], "start");
    uint64_t n = ToPosition(env, info[1], "count");
    if (start + n > job_.high_water())
      ThrowCode(env, "ERR_JOB_POSITION",
                "positions up to " + std::to_string(start + n) + " were never handed out (high water " +
                    std::to_string(job_.high_water()) + ")");
    for (uint64_t p = start; p < start + n; ++p) job_.mark_done(p);
    return env.Undefined();
  }

  // Maps n positions (cycling through the shard) into a 256-record scratch
  // batch and returns ns per index: the engines' per-probe cost of the job.
  Napi::Value BenchMap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t n = ToPosition(env, info[0], "count");
    if (n == 0 || job_.length() == 0) return Napi::Number::New(env, 0);
    return Napi::Number::New(env, TimeMap(job_, n));
  }

 public:
  static double TimeMap(const ScanJob& job, uint64_t n) {
    static thread_local Probe scratch[256];
    const uint64_t len = job.length();
    uint64_t pos = 0, sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t done = 0; done < n;) {
      uint64_t chunk = n - done < 256 ? n - done : 256;
      for (uint64_t i = 0; i < chunk; ++i) {
        job.probe_at(pos, scratch[i]);
        if (++pos == len) pos = 0;
      }
      sink += scratch[0].port;
      done += chunk;
    }
    auto t1 = std::chrono::steady_clock::now();
    asm volatile("" : : "r"(sink));
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
  }

 private:
  ScanJob job_;
};

// bench.jobMap(count, natural?) -> ns per index for a 10.0.0.0/8 x TCP 1-65535
// job (2^40 indices): the figure issue 15 asks for.
Napi::Value BenchJobMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t n = ToPosition(env, info[0], "count");
  bool natural = info.Length() > 1 && info[1].ToBoolean().Value();
  uint32_t seg[job::kSegmentWords] = {job::kSegV4Range, 0, 0, 0, 0, 0x0A000000, 0, 0, 0, 0x0AFFFFFF};
  uint32_t ports[job::kPortRunWords] = {1, 1, 65535};
  ScanJob j;
  std::string err = j.init(seg, job::kSegmentWords, nullptr, 0, ports, job::kPortRunWords, 0x5EED, natural, {0, 1}, 0);
  if (!err.empty()) ThrowCode(env, "ERR_JOB_LAYOUT", err);
  if (n == 0) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, JobWrap::TimeMap(j, n));
}

}  // namespace

void InitJob(Napi::Env env, Napi::Object exports) {
  exports.Set("Job", JobWrap::Define(env));
  BenchObject(env, exports).Set("jobMap", Napi::Function::New(env, BenchJobMap, "jobMap"));
}

}  // namespace portflow
