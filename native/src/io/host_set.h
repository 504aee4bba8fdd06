// A set of host addresses the probe engine's sender must no longer probe (hosts the scanner
// gave up on: its host timeout). Open addressing with linear probing over (family, address);
// only inserts, no deletes. Owned by the sender thread: the JS thread hands addresses over
// through Engine::SkipHosts, the sender moves them in between batches. It grows only when a
// host is added (rare: one per timed-out host), never while probes are checked against it.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace portflow::io {

class HostSet {
 public:
  explicit HostSet(uint32_t capacity = 64) { Reset(RoundUp(capacity)); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // True when the address was not in the set yet. `addr`: 4 (family 4) or 16 bytes.
  bool Insert(uint8_t family, const uint8_t* addr) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    return Place(family, addr);
  }

  bool Contains(uint8_t family, const uint8_t* addr) const {
    if (size_ == 0) return false;
    const size_t mask = slots_.size() - 1;
    const size_t n = family == 6 ? 16 : 4;
    for (size_t i = Hash(family, addr) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.family == 0) return false;
      if (s.family == family && std::memcmp(s.addr, addr, n) == 0) return true;
    }
  }

 private:
  struct Slot {
    uint8_t family = 0;  // 0: empty
    uint8_t addr[16] = {};
  };

  static uint32_t RoundUp(uint32_t n) {
    uint32_t c = 8;
    while (c < n) c <<= 1;
    return c;
  }

  // FNV-1a over the family and the address bytes, then a final mix (addresses in one
  // subnet differ only in their last bytes).
  static size_t Hash(uint8_t family, const uint8_t* addr) {
    uint64_t h = 1469598103934665603ull ^ family;
    const size_t n = family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; ++i) h = (h ^ addr[i]) * 1099511628211ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return static_cast<size_t>(h);
  }

  void Reset(size_t capacity) {
    slots_.assign(capacity, Slot{});
    size_ = 0;
  }

  bool Place(uint8_t family, const uint8_t* addr) {
    const size_t mask = slots_.size() - 1;
    const size_t n = family == 6 ? 16 : 4;
    for (size_t i = Hash(family, addr) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.family == 0) {
        s.family = family;
        std::memcpy(s.addr, addr, n);
        ++size_;
        return true;
      }
      if (s.family == family && std::memcmp(s.addr, addr, n) == 0) return false;
    }
  }

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    Reset(old.size() * 2);
    for (const Slot& s : old)
      if (s.family != 0) Place(s.family, s.addr);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace portflow::io
