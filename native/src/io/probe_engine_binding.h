#pragma once

#include <napi.h>

namespace portflow {

// exports.ProbeEngine: the native probe engine (io/engine.h) behind ts/probe-engine.ts,
// which validates and normalises the options first.
void InitProbeEngine(Napi::Env env, Napi::Object exports);

}  // namespace portflow
