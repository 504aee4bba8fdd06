// The capture thread's memory of recently answered probes, for dropping duplicate replies
// (a retransmitted SYN-ACK, the reply to a retry that crossed the first answer) natively.
// A direct-mapped table of 64-bit flow fingerprints: fixed size, allocated once, a new flow
// overwrites whatever shared its slot. So it forgets (a forgotten flow's duplicate reaches the
// scanner, which drops it as an already final position) but never errs the other way except
// on a 64-bit fingerprint collision (about n / 2^64 per lookup).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace portflow::io {

// A flow in the probe's direction, as fingerprinted: family, proto, our port, their port, their address.
struct FlowKey {
  uint8_t family = 0;
  uint8_t proto = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  const uint8_t* dst = nullptr;  // 4 or 16 bytes by family
};

class RecentFlows {
 public:
  // `capacity`: a power of two from 2^4 to 2^26 slots (8 bytes each).
  explicit RecentFlows(size_t capacity) : mask_(capacity - 1), slots_(new uint64_t[capacity]()) {
    if (capacity < 16 || capacity > (size_t{1} << 26) || (capacity & (capacity - 1)) != 0) {
      throw std::invalid_argument("recent flow table size must be a power of two from 16 to 2^26");
    }
  }

  // True if `key` was inserted before and not overwritten since; otherwise remembers it.
  bool SeenOrInsert(const FlowKey& key) {
    const uint64_t fp = Fingerprint(key);
    uint64_t& slot = slots_[fp & mask_];
    if (slot == fp) return true;
    slot = fp;
    return false;
  }

  size_t capacity() const { return mask_ + 1; }

  static uint64_t Fingerprint(const FlowKey& k) {
    uint64_t h = Mix(0x9e3779b97f4a7c15ULL ^ (uint64_t{k.family} | uint64_t{k.proto} << 8 | uint64_t{k.src_port} << 16 |
                                            uint64_t{k.dst_port} << 32));
    if (k.family == 6) {
      uint64_t a, b;
      std::memcpy(&a, k.dst, 8);
      std::memcpy(&b, k.dst + 8, 8);
      h = Mix(h ^ a);
      h = Mix(h ^ b);
    } else {
      uint32_t a;
      std::memcpy(&a, k.dst, 4);
      h = Mix(h ^ a);
    }
    return h == 0 ? 1 : h;  // 0 marks an empty slot
  }

 private:
  // splitmix64's finaliser: every input bit affects every output bit.
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  }

  size_t mask_;
  std::unique_ptr<uint64_t[]> slots_;
};

}  // namespace portflow::io
