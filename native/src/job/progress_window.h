// Resume positions of one shard's sequence: every position below low_water
// has reached a final state; positions in [low_water, high_water) were handed
// out and may still be in flight. A restart from low_water re-probes that gap
// and nothing else is lost.
//
// A ring of done-bits covers only the in-flight window, so memory follows the
// number of outstanding probes (rate x timeout), never the size of the job.
#pragma once

#include <cstdint>
#include <vector>

namespace portflow::job {

class ProgressWindow {
 public:
  void reset(uint64_t position) {
    low_ = high_ = position;
    bits_.assign(kInitialWords, 0);
  }

  uint64_t low_water() const noexcept { return low_; }
  uint64_t high_water() const noexcept { return high_; }

  // Hands out [high, high + n); grows the ring when the window would not fit.
  void issue(uint64_t n) {
    uint64_t need = high_ + n - low_;
    if (need > capacity()) grow(need);
    high_ += n;
  }

  enum class Mark { kDone, kAlreadyDone, kNotIssued };

  Mark mark_done(uint64_t position) noexcept {
    if (position >= high_) return Mark::kNotIssued;
    if (position < low_) return Mark::kAlreadyDone;
    uint64_t slot = position & (capacity() - 1);
    uint64_t& word = bits_[slot >> 6];
    uint64_t bit = uint64_t{1} << (slot & 63);
    if (word & bit) return Mark::kAlreadyDone;
    word |= bit;
    if (position == low_) advance();
    return Mark::kDone;
  }

 private:
  static constexpr size_t kInitialWords = 64;  // 4,096 positions in flight

  uint64_t capacity() const noexcept { return static_cast<uint64_t>(bits_.size()) * 64; }

  // Slides low_water over the done run, clearing bits so slots can be reused.
  void advance() noexcept {
    const uint64_t mask = capacity() - 1;
    while (low_ < high_) {
      uint64_t slot = low_ & mask;
      uint64_t& word = bits_[slot >> 6];
      unsigned shift = static_cast<unsigned>(slot & 63);
      uint64_t run = ~(word >> shift);  // zero bits of run mark done positions
      unsigned done = run == 0 ? 64 - shift : static_cast<unsigned>(__builtin_ctzll(run));
      if (done > 64 - shift) done = 64 - shift;
      if (done == 0) return;
      if (low_ + done > high_) done = static_cast<unsigned>(high_ - low_);
      uint64_t clear = done == 64 ? ~uint64_t{0} : ((uint64_t{1} << done) - 1) << shift;
      word &= ~clear;
      low_ += done;
    }
  }

  void grow(uint64_t need) {
    uint64_t cap = capacity();
    while (cap < need) cap *= 2;
    std::vector<uint64_t> next(cap / 64, 0);
    const uint64_t old_mask = capacity() - 1, new_mask = cap - 1;
    for (uint64_t p = low_; p < high_; ++p) {
      uint64_t os = p & old_mask;
      if (bits_[os >> 6] & (uint64_t{1} << (os & 63))) {
        uint64_t ns = p & new_mask;
        next[ns >> 6] |= uint64_t{1} << (ns & 63);
      }
    }
    bits_.swap(next);
  }

  std::vector<uint64_t> bits_ = std::vector<uint64_t>(kInitialWords, 0);
  uint64_t low_ = 0;
  uint64_t high_ = 0;
};

}  // namespace portflow::job
