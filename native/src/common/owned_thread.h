// A native thread the addon owns; see env_threads.h for who stops and joins it.
#pragma once

namespace portflow {

class OwnedThread {
 public:
  virtual ~OwnedThread() = default;
  // Ask the thread to finish soon; must not block.
  virtual void RequestStop() = 0;
  // Wait for the thread to finish; idempotent.
  virtual void Join() = 0;
};

}  // namespace portflow
