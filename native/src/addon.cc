// Module entry: one Init<Area> per area, each declared in that area's header.
// Node-API modules are context-aware: this runs once per environment (main
// thread and every worker_thread that loads the addon).
#include <napi.h>

#include "bench/bench_binding.h"
#include "common/env_threads.h"
#include "connect/connect_binding.h"
#include "io/capture_test_binding.h"
#include "io/link_binding.h"
#include "io/probe_engine_binding.h"
#include "job/job_binding.h"
#include "packet/packet_binding.h"
#include "ring/ring_binding.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  portflow::InitEnv(env);
  portflow::InitPacket(env, exports);
  portflow::InitBench(env, exports);
  portflow::InitRing(env, exports);
  portflow::InitJob(env, exports);
  portflow::InitProbeEngine(env, exports);
  portflow::io::InitCaptureTest(env, exports);
  portflow::InitConnect(env, exports);
  portflow::io::InitLink(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 2));
  return exports;
}

}  // namespace

NODE_API_MODULE(portflow_native, Init)
