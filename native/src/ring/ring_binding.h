#pragma once

#include <napi.h>

#include <memory>

#include "ring/record_ring.h"

namespace portflow {

// The ring behind a JS RecordRing's native handle (ts/ring.ts: nativeRingHandle(ring)), for
// other areas' producer threads (sender, capture, scan job). Throws a JS TypeError for
// anything else, an Error for a closed ring. A producer must AttachProducer() (one per
// ring), register with GetAddonData(env).threads, and Publish() after each batch.
std::shared_ptr<RecordRing> RingFromJs(Napi::Env env, Napi::Value handle);

// exports.RecordRing, exports.TestProducer, exports.recordFormat, and the ring entries of
// exports.bench (ringNativeToNative, threadCpuTimeNs).
void InitRing(Napi::Env env, Napi::Object exports);

}  // namespace portflow
