#pragma once

#include <napi.h>

namespace portflow {

// exports.RecordRing, exports.TestProducer, exports.recordFormat, and the ring entries of
// exports.bench (ringNativeToNative, threadCpuTimeNs).
void InitRing(Napi::Env env, Napi::Object exports);

}  // namespace portflow
