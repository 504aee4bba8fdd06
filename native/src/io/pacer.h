// Token-bucket pacing for the sender thread: packets are released in batches of about
// 1 ms worth, and the thread sleeps (clock_nanosleep) until the next batch is due rather
// than spinning, so the JavaScript thread keeps its core on a two-core machine.
//
// The rate is an atomic the JS thread may change at any time (setRate); the sender picks
// it up on its next Take(), refilling from the new rate only, so a change applies at once.
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace portflow::io {

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Sleeps until an absolute CLOCK_MONOTONIC time (restarted after signals).
inline void SleepUntilNs(uint64_t deadline_ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(deadline_ns / 1000000000u);
  ts.tv_nsec = static_cast<long>(deadline_ns % 1000000000u);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) != 0) {
  }
}

class Pacer {
 public:
  // pps: packets per second; +infinity (or anything above 1e9) means unpaced.
  explicit Pacer(double pps) { SetRate(pps); }

  void SetRate(double pps) { rate_.store(pps, std::memory_order_relaxed); }
  double rate() const { return rate_.load(std::memory_order_relaxed); }

  // How many packets (at most `max`) may go now. When it returns 0, *wait_ns is how long
  // until a batch of about 1 ms of packets is due.
  uint32_t Take(uint64_t now_ns, uint32_t max, uint64_t* wait_ns) {
    const double rate = rate_.load(std::memory_order_relaxed);
    *wait_ns = 0;
    if (!(rate < 1e9)) return max;  // unpaced
    if (rate != last_rate_ || last_ns_ == 0) {
      // A new rate: start from an empty bucket so the change shows at once, neither a
      // burst of credit saved at the old rate nor a debt.
      last_rate_ = rate;
      tokens_ = std::min(tokens_, 1.0);
      last_ns_ = now_ns;
    }
    // A batch is ~1 ms of packets (at least one). The bucket holds a few batches, so time
    // lost oversleeping or in a slow send is made up at once instead of lowering the rate,
    // while a stall (window full, paused) releases at most ~4 ms of packets in a burst.
    const double batch = std::max(1.0, rate * 1e-3);
    const double cap = std::max(2.0, rate * 4e-3);
    tokens_ = std::min(cap, tokens_ + static_cast<double>(now_ns - last_ns_) * rate * 1e-9);
    last_ns_ = now_ns;
    const double want = std::min(batch, static_cast<double>(max));
    if (tokens_ + 1e-9 < want) {
      *wait_ns = static_cast<uint64_t>(std::ceil((want - tokens_) / rate * 1e9));
      if (*wait_ns == 0) *wait_ns = 1;
      return 0;
    }
    const uint32_t n = static_cast<uint32_t>(std::min<double>(std::floor(tokens_ + 1e-9), max));
    tokens_ -= n;
    return n;
  }

  // Gives back packets taken but not sent (the window was full, the job ended).
  void Return(uint32_t n) { tokens_ += n; }

 private:
  std::atomic<double> rate_{0};
  double last_rate_ = -1;
  double tokens_ = 0;
  uint64_t last_ns_ = 0;
};

// Packets per second over about the last second, from samples taken every 100 ms.
class RateMeter {
 public:
  // Returns true when a new figure was computed into *rate.
  bool Sample(uint64_t now_ns, uint64_t total, double* rate) {
    if (count_ > 0 && now_ns - t_[(head_ + kSlots - 1) % kSlots] < 100000000u) return false;
    t_[head_] = now_ns;
    v_[head_] = total;
    head_ = (head_ + 1) % kSlots;
    if (count_ < kSlots) ++count_;
    const size_t oldest = (head_ + kSlots - count_) % kSlots;
    const size_t newest = (head_ + kSlots - 1) % kSlots;
    const uint64_t dt = t_[newest] - t_[oldest];
    *rate = dt == 0 ? 0 : static_cast<double>(v_[newest] - v_[oldest]) * 1e9 / static_cast<double>(dt);
    return true;
  }

 private:
  static constexpr size_t kSlots = 11;  // 10 intervals of 100 ms
  uint64_t t_[kSlots] = {};
  uint64_t v_[kSlots] = {};
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace portflow::io
