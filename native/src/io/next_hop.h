// Layer-2 path selection from a LinkPlan: the destination MAC of each probe's frame.
// An exact neighbour (on-link target the plan resolved) wins; otherwise the longest
// matching route gives its gateway's MAC; an on-link route without a known neighbour, or
// no route at all, means no next hop (the probe is reported as NoAnswer with 0 sent).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace portflow::io {

struct NeighborEntry {
  uint8_t family = 4;
  uint8_t addr[16] = {};
  uint8_t mac[6] = {};
};

struct RouteEntry {
  uint8_t family = 4;
  uint8_t prefix_len = 0;
  uint8_t addr[16] = {};
  bool has_mac = false;  // false: on-link prefix, the neighbour's own MAC is needed
  uint8_t mac[6] = {};
};

class NextHops {
 public:
  NextHops(const std::vector<NeighborEntry>& neighbors, std::vector<RouteEntry> routes) : routes_(std::move(routes)) {
    uint32_t slots = 16;
    while (slots < neighbors.size() * 2) slots <<= 1;
    table_.assign(slots, Slot{});
    mask_ = slots - 1;
    for (const NeighborEntry& n : neighbors) {
      uint32_t s = Hash(n.family, n.addr) & mask_;
      while (table_[s].used && !(table_[s].n.family == n.family && std::memcmp(table_[s].n.addr, n.addr, 16) == 0))
        s = (s + 1) & mask_;
      table_[s].used = true;
      table_[s].n = n;
    }
    // Longest prefix first: the first match is the longest (a routing table is small).
    for (size_t i = 1; i < routes_.size(); ++i)
      for (size_t j = i; j > 0 && routes_[j].prefix_len > routes_[j - 1].prefix_len; --j) std::swap(routes_[j], routes_[j - 1]);
  }

  // Writes the next hop's MAC for `addr` (16 bytes, IPv4 in the first 4); false: none.
  bool Lookup(uint8_t family, const uint8_t* addr, uint8_t mac[6]) const {
    for (uint32_t s = Hash(family, addr) & mask_; table_[s].used; s = (s + 1) & mask_) {
      const NeighborEntry& n = table_[s].n;
      if (n.family == family && std::memcmp(n.addr, addr, family == 6 ? 16 : 4) == 0) {
        std::memcpy(mac, n.mac, 6);
        return true;
      }
    }
    for (const RouteEntry& r : routes_) {
      if (r.family != family || !PrefixMatch(r.addr, addr, r.prefix_len)) continue;
      if (!r.has_mac) return false;  // on-link, and the neighbour is not known
      std::memcpy(mac, r.mac, 6);
      return true;
    }
    return false;
  }

  static bool PrefixMatch(const uint8_t* prefix, const uint8_t* addr, unsigned len) {
    const unsigned whole = len / 8;
    if (std::memcmp(prefix, addr, whole) != 0) return false;
    const unsigned rest = len % 8;
    if (rest == 0) return true;
    const uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
    return (prefix[whole] & m) == (addr[whole] & m);
  }

 private:
  struct Slot {
    bool used = false;
    NeighborEntry n;
  };
  static uint32_t Hash(uint8_t family, const uint8_t* a) {
    uint32_t h = 2166136261u ^ family;
    const size_t n = family == 6 ? 16 : 4;
    for (size_t i = 0; i < n; ++i) h = (h ^ a[i]) * 16777619u;
    return h;
  }

  std::vector<Slot> table_;
  uint32_t mask_ = 0;
  std::vector<RouteEntry> routes_;
};

}  // namespace portflow::io
