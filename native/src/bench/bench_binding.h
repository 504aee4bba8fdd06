#pragma once

#include <napi.h>

namespace portflow {

// exports.bench: tight native loops that return their own timing, so benchmarks
// measure the native code and not the JS call around it.
void InitBench(Napi::Env env, Napi::Object exports);

// Lets other areas add entries to exports.bench.
Napi::Object BenchObject(Napi::Env env, Napi::Object exports);

}  // namespace portflow
