#pragma once

#include <napi.h>

namespace portflow {

// exports.Job (the scan job: index space, keyed permutation, shards, resume
// positions) and exports.bench.jobMap. ts/job.ts is the typed wrapper.
void InitJob(Napi::Env env, Napi::Object exports);

}  // namespace portflow
