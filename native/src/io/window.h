// The sender's per-probe state, only for probes in flight: at most `capacity` entries,
// all memory allocated at construction, nothing allocated per packet.
//
// Entries live in a fixed pool; an open-addressed index (linear probing, backward-shift
// deletion, at most half full; each slot keeps its entry's hash, so probing and shifting
// never touch the pool, whose lines are cache misses at high rates) finds an entry by flow (family, protocol, target, target
// port) when the capture thread reports an answer. A FIFO of (entry, generation, deadline)
// orders timeouts: every send appends one item and bumps the entry's generation, so items
// of answered or resent entries are recognised as stale and skipped. Deadlines are pushed
// in send order; when the timeout shrinks a later item may wait behind an earlier one
// until that one's deadline, never longer than the largest timeout.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace portflow::io {

struct ProbeKey {
  uint8_t family = 4;
  uint8_t proto = 6;
  uint16_t dst_port = 0;  // ICMP: the request's type (8 / 13 / 128), so echo and timestamp differ
  uint8_t dst[16] = {};

  bool operator==(const ProbeKey& o) const {
    return family == o.family && proto == o.proto && dst_port == o.dst_port && std::memcmp(dst, o.dst, 16) == 0;
  }
};

struct InFlight {
  ProbeKey key;
  uint64_t position = 0;  // in the job's sequence
  uint64_t sent_ns = 0;   // last send, CLOCK_MONOTONIC
  uint32_t cookie = 0;
  uint32_t generation = 0;
  uint16_t src_port = 0;
  uint16_t job_port = 0;  // discovery: the method number
  uint8_t tries = 0;      // sends so far
  uint8_t type = 0;       // ProbeType (engine.h)
  uint8_t dst_mac[6] = {};
  bool used = false;
};

class Window {
 public:
  explicit Window(uint32_t capacity) : pool_(capacity), free_(capacity) {
    if (capacity == 0) throw std::invalid_argument("window must hold at least one probe");
    uint32_t slots = 2;
    while (slots < capacity * 2) slots <<= 1;
    index_.assign(slots, Slot{});
    mask_ = slots - 1;
    for (uint32_t i = 0; i < capacity; ++i) free_[i] = static_cast<int32_t>(capacity - 1 - i);
    fifo_.resize(static_cast<size_t>(capacity) * 4);
  }

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return static_cast<uint32_t>(pool_.size()); }
  bool full() const { return size_ == pool_.size(); }
  InFlight& at(int32_t i) { return pool_[static_cast<size_t>(i)]; }

  // A new entry for `key` (not already present: a job never repeats a flow). -1 if full.
  int32_t Insert(const ProbeKey& key) {
    if (free_.empty()) return -1;
    const int32_t e = free_.back();
    free_.pop_back();
    InFlight& f = pool_[static_cast<size_t>(e)];
    const uint32_t gen = f.generation + 1;
    f = InFlight{};
    f.key = key;
    f.generation = gen;
    f.used = true;
    const uint32_t h = Hash(key);
    uint32_t s = h & mask_;
    while (index_[s].entry >= 0) s = (s + 1) & mask_;
    index_[s] = Slot{e, h};
    ++size_;
    return e;
  }

  int32_t Find(const ProbeKey& key) const {
    const uint32_t h = Hash(key);
    for (uint32_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = index_[s];
      if (slot.entry < 0) return -1;
      if (slot.hash == h && pool_[static_cast<size_t>(slot.entry)].key == key) return slot.entry;
    }
  }

  void Erase(int32_t e) {
    InFlight& f = pool_[static_cast<size_t>(e)];
    uint32_t s = Hash(f.key) & mask_;
    while (index_[s].entry != e) s = (s + 1) & mask_;
    // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
    uint32_t hole = s;
    for (uint32_t j = (hole + 1) & mask_; index_[j].entry >= 0; j = (j + 1) & mask_) {
      const uint32_t home = index_[j].hash & mask_;
      // Move j into the hole if its home is not cyclically within (hole, j].
      const bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!in_range) {
        index_[hole] = index_[j];
        hole = j;
      }
    }
    index_[hole] = Slot{};
    f.used = false;
    ++f.generation;  // its pending timeout item is now stale
    free_.push_back(e);
    --size_;
  }

  // Arms entry e's timeout (after each send).
  void Schedule(int32_t e, uint64_t deadline_ns) {
    InFlight& f = pool_[static_cast<size_t>(e)];
    ++f.generation;
    if (fifo_count_ == fifo_.size()) Compact();
    fifo_[(fifo_head_ + fifo_count_) % fifo_.size()] = Item{deadline_ns, e, f.generation};
    ++fifo_count_;
  }

  // The entry whose timeout expired by now_ns, or -1.
  int32_t PopExpired(uint64_t now_ns) {
    while (fifo_count_ > 0) {
      const Item& it = fifo_[fifo_head_];
      if (!Live(it)) {
        Pop();
        continue;
      }
      if (it.deadline_ns > now_ns) return -1;
      const int32_t e = it.entry;
      Pop();
      return e;
    }
    return -1;
  }

  // The earliest live deadline at the front (0: nothing armed).
  uint64_t NextDeadline() {
    while (fifo_count_ > 0 && !Live(fifo_[fifo_head_])) Pop();
    return fifo_count_ > 0 ? fifo_[fifo_head_].deadline_ns : 0;
  }

 private:
  struct Slot {
    int32_t entry = -1;
    uint32_t hash = 0;
  };
  struct Item {
    uint64_t deadline_ns;
    int32_t entry;
    uint32_t generation;
  };

  static uint32_t Hash(const ProbeKey& k) {
    uint64_t a, b;
    std::memcpy(&a, k.dst, 8);
    std::memcpy(&b, k.dst + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) + (uint64_t{k.dst_port} << 16 | uint64_t{k.proto} << 8 | k.family);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<uint32_t>(h);
  }

  bool Live(const Item& it) const {
    const InFlight& f = pool_[static_cast<size_t>(it.entry)];
    return f.used && f.generation == it.generation;
  }
  void Pop() {
    fifo_head_ = (fifo_head_ + 1) % fifo_.size();
    --fifo_count_;
  }
  // Drops stale items in place; live items (at most one per entry) then fit.
  void Compact() {
    size_t w = 0;
    for (size_t i = 0; i < fifo_count_; ++i) {
      const Item it = fifo_[(fifo_head_ + i) % fifo_.size()];
      if (Live(it)) fifo_[(fifo_head_ + w++) % fifo_.size()] = it;
    }
    fifo_count_ = w;
  }

  std::vector<InFlight> pool_;
  std::vector<int32_t> free_;
  std::vector<Slot> index_;
  uint32_t mask_ = 0;
  uint32_t size_ = 0;
  std::vector<Item> fifo_;
  size_t fifo_head_ = 0;
  size_t fifo_count_ = 0;
};

}  // namespace portflow::io
