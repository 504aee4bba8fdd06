#pragma once

#include <napi.h>

namespace portflow {

// exports.ConnectEngine: the native connect-scan engine (connect/connect_engine.h) over a
// RecordRing, wrapped by ts/connect-engine.ts.
void InitConnect(Napi::Env env, Napi::Object exports);

}  // namespace portflow
