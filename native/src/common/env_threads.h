// Threads owned by the addon in one Node environment (main thread or a worker).
// Every native thread registers here; the environment's cleanup hook asks each to
// stop and joins it before the environment's memory goes away, so Ctrl-C, process
// exit or a worker's exit never leaves a thread writing into freed memory or
// calling into a dead environment.
//
// A ThreadSafeFunction is torn down by its own cleanup hook, and hooks run in reverse
// order of registration: whoever creates a TSFN that native threads call must register
// a hook *after* creating it that calls StopAll() (see ring/ring_binding.cc), so the
// threads are joined before the TSFN goes away.
#pragma once

#include <napi.h>

#include <mutex>
#include <vector>

#include "common/owned_thread.h"

namespace portflow {

class EnvThreads {
 public:
  void Add(OwnedThread* t);
  void Remove(OwnedThread* t);
  // Called once from the cleanup hook, on the environment's JavaScript thread (the only
  // thread that calls Add): every caller checks shutting_down() before it starts a thread.
  void StopAll();
  bool shutting_down() const;

 private:
  mutable std::mutex mu_;
  std::vector<OwnedThread*> threads_;
  bool shutting_down_ = false;
};

// Per-environment data of the addon (napi instance data: one slot per addon, so
// every area keeps its state here rather than calling SetInstanceData itself).
struct AddonData {
  EnvThreads threads;
};

// Creates the instance data and registers the cleanup hook; called first by the module init.
void InitEnv(Napi::Env env);
AddonData& GetAddonData(Napi::Env env);

}  // namespace portflow
