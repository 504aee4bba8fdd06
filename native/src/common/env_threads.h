// Threads owned by the addon in one Node environment (main thread or a worker).
// Every native thread registers here; the environment's cleanup hook asks each to
// stop and joins it before the environment's memory goes away, so Ctrl-C, process
// exit or a worker's exit never leaves a thread writing into freed memory or
// calling into a dead environment.
#pragma once

#include <napi.h>

#include <mutex>
#include <vector>

namespace portflow {

class OwnedThread {
 public:
  virtual ~OwnedThread() = default;
  // Ask the thread to finish soon; must not block.
  virtual void RequestStop() = 0;
  // Wait for the thread to finish; idempotent.
  virtual void Join() = 0;
};

class EnvThreads {
 public:
  void Add(OwnedThread* t);
  void Remove(OwnedThread* t);
  // Called once from the cleanup hook; later Add() calls stop the thread at once.
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
