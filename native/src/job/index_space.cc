#include "index_space.h"

#include <algorithm>
#include <cstring>

namespace portflow::job {

namespace {

using u128 = unsigned __int128;

constexpr size_t kBucketMinSegments = 32;

u128 read_address(const uint32_t* w) {
  u128 v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 32) | w[i];
  return v;
}

std::string segment_error(size_t i, const char* what) {
  return "segment " + std::to_string(i) + ": " + what;
}

}  // namespace

std::string IndexSpace::init(const uint32_t* segments, size_t segment_words, const uint32_t* block_bits,
                             size_t block_words, const uint32_t* port_runs, size_t port_words) {
  if (segment_words % kSegmentWords != 0) return "segments length is not a multiple of 10 words";
  if (block_words % kBlockWords != 0) return "block bitmaps length is not a multiple of 32 words";
  if (port_words % kPortRunWords != 0) return "port runs length is not a multiple of 3 words";
  const size_t nseg = segment_words / kSegmentWords;
  const size_t nblocks = block_words / kBlockWords;
  const size_t nruns = port_words / kPortRunWords;
  if (nseg > UINT32_MAX || nruns > UINT32_MAX) return "more than 2^32 - 1 segments or port runs";

  segments_.clear();
  segments_.reserve(nseg);
  v6_bases_.clear();
  blocks_.clear();
  blocks_.reserve(nblocks);
  block_segments_.clear();
  uint64_t hosts = 0;
  u128 prev_v4_last = 0, prev_v6_last = 0;
  bool have_v4 = false, have_v6 = false;
  for (size_t i = 0; i < nseg; ++i) {
    const uint32_t* w = segments + i * kSegmentWords;
    Segment s{};
    s.start = hosts;
    uint64_t size = 0;
    if (w[0] == kSegV4Range || w[0] == kSegV6Range) {
      u128 first = read_address(w + 2), last = read_address(w + 6);
      if (first > last) return segment_error(i, "first address is above last address");
      if (w[0] == kSegV4Range) {
        if ((first >> 32) != 0 || (last >> 32) != 0) return segment_error(i, "IPv4 range wider than 32 bits");
        if (have_v4 && first <= prev_v4_last) return segment_error(i, "IPv4 ranges overlap or are not ascending");
        have_v4 = true;
        prev_v4_last = last;
        s.type = SegType::kV4Range;
        s.base = static_cast<uint32_t>(first);
      } else {
        if (have_v6 && first <= prev_v6_last) return segment_error(i, "IPv6 ranges overlap or are not ascending");
        have_v6 = true;
        prev_v6_last = last;
        s.type = SegType::kV6Range;
        s.base = static_cast<uint32_t>(v6_bases_.size());
        v6_bases_.push_back(V6Base{static_cast<uint64_t>(first >> 64), static_cast<uint64_t>(first)});
      }
      u128 wide = last - first + 1;
      if (wide == 0 || wide > kMaxCount) return segment_error(i, "range holds more than 2^53 addresses");
      size = static_cast<uint64_t>(wide);
    } else if (w[0] == kSegV4Block) {
      if (blocks_.size() >= nblocks) return segment_error(i, "octet block without its bitmaps");
      const uint32_t* bits = block_bits + blocks_.size() * kBlockWords;
      OctetBlock b{};
      size = 1;
      for (int o = 0; o < 4; ++o) {
        uint16_t n = 0;
        for (int v = 0; v < 256; ++v) {
          if (bits[o * 8 + v / 32] & (uint32_t{1} << (v % 32))) {
            b.member[o][v] = 1;
            b.ordinal[o][v] = static_cast<uint8_t>(n);
            b.values[o][n++] = static_cast<uint8_t>(v);
          }
        }
        if (n == 0) return segment_error(i, "octet block with an empty octet");
        b.n[o] = n;
        size *= n;
      }
      s.type = SegType::kV4Block;
      s.base = static_cast<uint32_t>(blocks_.size());
      block_segments_.push_back(static_cast<uint32_t>(i));
      blocks_.push_back(b);
    } else {
      return segment_error(i, "unknown segment type (expected 4, 5 or 6)");
    }
    if (size > kMaxCount - hosts) return "more than 2^53 target addresses";
    hosts += size;
    segments_.push_back(s);
  }
  if (blocks_.size() != nblocks) return "more octet block bitmaps than octet block segments";

  ports_.clear();
  ports_.reserve(nruns);
  uint64_t nports = 0;
  for (size_t i = 0; i < nruns; ++i) {
    const uint32_t* w = port_runs + i * kPortRunWords;
    if (w[0] != static_cast<uint32_t>(ProbeKind::kTcp) && w[0] != static_cast<uint32_t>(ProbeKind::kUdp))
      return "port run " + std::to_string(i) + ": unknown probe kind (expected 1 tcp or 2 udp)";
    if (w[1] < 1 || w[2] > 65535 || w[1] > w[2])
      return "port run " + std::to_string(i) + ": ports must satisfy 1 <= first <= last <= 65535";
    if (i > 0) {
      const PortRun& p = ports_.back();
      if (w[0] < p.kind || (w[0] == p.kind && w[1] <= p.last))
        return "port run " + std::to_string(i) + ": runs overlap or are not ascending by (kind, port)";
    }
    ports_.push_back(PortRun{nports, static_cast<uint16_t>(w[1]), static_cast<uint16_t>(w[2]),
                             static_cast<uint8_t>(w[0])});
    nports += w[2] - w[1] + 1;
  }

  host_count_ = hosts;
  port_count_ = nports;
  if (hosts != 0 && nports > kMaxCount / hosts) return "index space above 2^53 (hosts x ports)";
  count_ = hosts * nports;

  bucket_first_.clear();
  bucket_width_ = 0;
  if (segments_.size() > kBucketMinSegments) {
    const uint64_t nbuckets = segments_.size();
    bucket_width_ = (hosts + nbuckets - 1) / nbuckets;
    bucket_first_.resize(nbuckets + 1);
    size_t s = 0;
    for (uint64_t k = 0; k <= nbuckets; ++k) {
      uint64_t first = k * bucket_width_;
      if (first >= hosts) first = hosts - 1;
      while (s + 1 < segments_.size() && segments_[s + 1].start <= first) ++s;
      bucket_first_[k] = static_cast<uint32_t>(s);
    }
  }
  port_starts_.resize(ports_.size());
  for (size_t i = 0; i < ports_.size(); ++i) port_starts_[i] = ports_[i].start;

  v4_lookup_.clear();
  v6_lookup_.clear();
  for (size_t i = 0; i < nseg; ++i) {
    const uint32_t* w = segments + i * kSegmentWords;
    if (w[0] == kSegV4Block) continue;
    u128 first = read_address(w + 2), last = read_address(w + 6);
    Lookup l{static_cast<uint64_t>(first >> 64), static_cast<uint64_t>(first), static_cast<uint64_t>(last >> 64),
             static_cast<uint64_t>(last), static_cast<uint32_t>(i)};
    (w[0] == kSegV4Range ? v4_lookup_ : v6_lookup_).push_back(l);
  }
  return {};
}

size_t IndexSpace::find_run(uint64_t port_index) const noexcept {
  auto it = std::upper_bound(port_starts_.begin(), port_starts_.end(), port_index);
  return static_cast<size_t>(it - port_starts_.begin()) - 1;
}

size_t IndexSpace::find_segment(uint64_t host_index) const noexcept {
  auto begin = segments_.begin(), end = segments_.end();
  if (bucket_width_ != 0) {
    const uint64_t k = host_index / bucket_width_;
    begin = segments_.begin() + bucket_first_[k];
    end = segments_.begin() + bucket_first_[k + 1] + 1;
  }
  auto it = std::upper_bound(begin, end, host_index, [](uint64_t h, const Segment& s) { return h < s.start; });
  return static_cast<size_t>(it - segments_.begin()) - 1;
}

void IndexSpace::map_host(uint64_t host_index, Probe& out) const noexcept {
  const Segment& s = segments_.size() == 1 ? segments_[0] : segments_[find_segment(host_index)];
  uint64_t local = host_index - s.start;
  uint64_t zero = 0;
  switch (s.type) {
    case SegType::kV4Range: {
      uint32_t a = s.base + static_cast<uint32_t>(local);
      uint32_t be = __builtin_bswap32(a);
      std::memcpy(out.addr, &be, 4);
      std::memcpy(out.addr + 4, &zero, 4);
      std::memcpy(out.addr + 8, &zero, 8);
      out.family = 4;
      return;
    }
    case SegType::kV6Range: {
      const V6Base& v6 = v6_bases_[s.base];
      uint64_t lo = v6.lo + local;
      uint64_t hi = v6.hi + (lo < v6.lo ? 1 : 0);
      uint64_t hbe = __builtin_bswap64(hi), lbe = __builtin_bswap64(lo);
      std::memcpy(out.addr, &hbe, 8);
      std::memcpy(out.addr + 8, &lbe, 8);
      out.family = 6;
      return;
    }
    case SegType::kV4Block: {
      // The last octet varies fastest, so natural order walks a block in
      // ascending address order.
      const OctetBlock& b = blocks_[s.base];
      uint64_t q3 = local / b.n[3];
      uint8_t o3 = b.values[3][local - q3 * b.n[3]];
      uint64_t q2 = q3 / b.n[2];
      uint8_t o2 = b.values[2][q3 - q2 * b.n[2]];
      uint64_t q1 = q2 / b.n[1];
      uint8_t o1 = b.values[1][q2 - q1 * b.n[1]];
      uint8_t o0 = b.values[0][q1];
      out.addr[0] = o0;
      out.addr[1] = o1;
      out.addr[2] = o2;
      out.addr[3] = o3;
      std::memcpy(out.addr + 4, &zero, 4);
      std::memcpy(out.addr + 8, &zero, 8);
      out.family = 4;
      return;
    }
  }
}

int64_t IndexSpace::index_of(uint8_t family, const uint8_t addr[16], uint16_t port, uint8_t kind) const noexcept {
  if (count_ == 0) return -1;
  // Port index: runs are sorted by (kind, first).
  int64_t port_index = -1;
  for (const PortRun& r : ports_) {
    if (r.kind == kind && port >= r.first && port <= r.last) {
      port_index = static_cast<int64_t>(r.start + (port - r.first));
      break;
    }
  }
  if (port_index < 0) return -1;

  int64_t host_index = -1;
  if (family == 4) {
    uint32_t be;
    std::memcpy(&be, addr, 4);
    uint64_t a = __builtin_bswap32(be);
    auto it = std::upper_bound(v4_lookup_.begin(), v4_lookup_.end(), a,
                               [](uint64_t v, const Lookup& l) { return v < l.lo; });
    if (it != v4_lookup_.begin()) {
      const Lookup& l = *(it - 1);
      if (a <= l.last_lo) host_index = static_cast<int64_t>(segments_[l.segment].start + (a - l.lo));
    }
    if (host_index < 0) {
      for (uint32_t si : block_segments_) {
        const Segment& s = segments_[si];
        const OctetBlock& b = blocks_[s.base];
        if (!b.member[0][addr[0]] || !b.member[1][addr[1]] || !b.member[2][addr[2]] || !b.member[3][addr[3]])
          continue;
        uint64_t local = b.ordinal[0][addr[0]];
        local = local * b.n[1] + b.ordinal[1][addr[1]];
        local = local * b.n[2] + b.ordinal[2][addr[2]];
        local = local * b.n[3] + b.ordinal[3][addr[3]];
        host_index = static_cast<int64_t>(s.start + local);
        break;
      }
    }
  } else if (family == 6) {
    uint64_t hbe, lbe;
    std::memcpy(&hbe, addr, 8);
    std::memcpy(&lbe, addr + 8, 8);
    u128 a = (u128{__builtin_bswap64(hbe)} << 64) | __builtin_bswap64(lbe);
    auto it = std::upper_bound(v6_lookup_.begin(), v6_lookup_.end(), a, [](u128 v, const Lookup& l) {
      return v < ((u128{l.hi} << 64) | l.lo);
    });
    if (it != v6_lookup_.begin()) {
      const Lookup& l = *(it - 1);
      u128 first = (u128{l.hi} << 64) | l.lo, last = (u128{l.last_hi} << 64) | l.last_lo;
      if (a <= last) host_index = static_cast<int64_t>(segments_[l.segment].start + static_cast<uint64_t>(a - first));
    }
  }
  if (host_index < 0) return -1;
  return port_index * static_cast<int64_t>(host_count_) + host_index;
}

}  // namespace portflow::job
