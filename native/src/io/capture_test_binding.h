// Test-only binding of the capture thread (io/capture.h), for native/test/lab/capture.lab.test.ts:
// `captureTest.Capture` runs a Capture into a private ring the test reads back by copy, and
// `captureTest.cookie` computes a flow's cookie as the sender would. Not part of the package's API.
#pragma once

#include <napi.h>

namespace portflow::io {
void InitCaptureTest(Napi::Env env, Napi::Object exports);
}
