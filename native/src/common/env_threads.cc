#include "common/env_threads.h"

#include <algorithm>

namespace portflow {

void EnvThreads::Add(OwnedThread* t) {
  std::lock_guard<std::mutex> lock(mu_);
  threads_.push_back(t);
}

void EnvThreads::Remove(OwnedThread* t) {
  std::lock_guard<std::mutex> lock(mu_);
  threads_.erase(std::remove(threads_.begin(), threads_.end(), t), threads_.end());
}

bool EnvThreads::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

void EnvThreads::StopAll() {
  std::vector<OwnedThread*> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    snapshot = threads_;
  }
  // Stop all first, then join, so threads wind down in parallel.
  for (OwnedThread* t : snapshot) t->RequestStop();
  for (OwnedThread* t : snapshot) t->Join();
}

void InitEnv(Napi::Env env) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // Node deletes it when the environment is torn down
  // Registered during module init, so it runs before Node-API's own teardown of
  // this environment (cleanup hooks run in reverse order of registration).
  env.AddCleanupHook([data]() { data->threads.StopAll(); });
}

AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace portflow
