// Keyed bijection on [0, count): a balanced-or-nearly Feistel network over the
// smallest power of two that covers count, made exact by cycle walking.
//
// Why cycle walking stays O(1) expected: the Feistel domain D = 2^m is the
// smallest power of two >= count (with m >= 2), so D < 2 * count. Walking from
// an in-range start visits the permutation's cycle until it re-enters
// [0, count); summed over all starts every domain point is visited exactly
// once, so the mean walk is D / count < 2 Feistel evaluations per index.
//
// Why an unbalanced split instead of the next power of four: with halves of
// a and b = m - a bits the domain is at most 2x count instead of 4x, which
// halves the mean walk. Each round maps (L, R) -> (R, L ^ F(R)) with F masked
// to L's width, so the halves swap widths every round; an even number of rounds
// restores the original split and every round stays invertible.
#pragma once

#include <bit>
#include <cstdint>

namespace portflow::job {

class Permutation {
 public:
  static constexpr int kRounds = 4;

  Permutation() = default;

  // count may be 0 (empty job); natural keeps position == index.
  void init(uint64_t count, uint64_t seed, bool natural) noexcept {
    count_ = count;
    natural_ = natural || count <= 1;
    int m = count > 1 ? std::bit_width(count - 1) : 0;
    if (m < 2) m = 2;
    left_bits_ = m / 2;
    right_bits_ = m - left_bits_;
    uint64_t s = seed;
    for (int r = 0; r < kRounds; ++r) keys_[r] = splitmix64(s);
  }

  uint64_t count() const noexcept { return count_; }
  bool natural() const noexcept { return natural_; }

  // position in [0, count) -> index in [0, count).
  uint64_t at(uint64_t position) const noexcept {
    if (natural_) return position;
    uint64_t x = position;
    do {
      x = encrypt(x);
    } while (x >= count_);
    return x;
  }

  // index in [0, count) -> position in [0, count); inverse of at().
  uint64_t position_of(uint64_t index) const noexcept {
    if (natural_) return index;
    uint64_t x = index;
    do {
      x = decrypt(x);
    } while (x >= count_);
    return x;
  }

 private:
  static uint64_t splitmix64(uint64_t& state) noexcept {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Keyed round function: the key enters before two multiply-xorshift steps so
  // every input bit reaches every output bit even for 1-bit halves.
  static uint64_t round_fn(uint64_t v, uint64_t key) noexcept {
    uint64_t h = (v ^ key) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 29);
  }

  static uint64_t mask(int bits) noexcept { return (uint64_t{1} << bits) - 1; }

  uint64_t encrypt(uint64_t x) const noexcept {
    int lb = left_bits_, rb = right_bits_;
    uint64_t l = x >> rb;
    uint64_t r = x & mask(rb);
    for (int i = 0; i < kRounds; ++i) {
      uint64_t nl = r;
      uint64_t nr = l ^ (round_fn(r, keys_[i]) & mask(lb));
      l = nl;
      r = nr;
      int t = lb;
      lb = rb;
      rb = t;
    }
    return (l << rb) | r;
  }

  uint64_t decrypt(uint64_t x) const noexcept {
    // After an even number of rounds the widths are back to (left, right).
    int lb = left_bits_, rb = right_bits_;
    uint64_t l = x >> rb;
    uint64_t r = x & mask(rb);
    for (int i = kRounds - 1; i >= 0; --i) {
      // Undo (l, r) = (r0, l0 ^ F(r0)): r0 = l has width rb-before-swap.
      uint64_t r0 = l;
      uint64_t l0 = r ^ (round_fn(r0, keys_[i]) & mask(rb));
      l = l0;
      r = r0;
      int t = lb;
      lb = rb;
      rb = t;
    }
    return (l << rb) | r;
  }

  static_assert(kRounds % 2 == 0, "widths must return to the original split");

  uint64_t count_ = 0;
  uint64_t keys_[kRounds] = {};
  int left_bits_ = 1;
  int right_bits_ = 1;
  bool natural_ = true;
};

}  // namespace portflow::job
