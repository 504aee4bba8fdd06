// The scan's index space: every (address, port, probe kind) of a job numbered
// 0 .. count-1 without expanding anything into memory.
//
// Hosts are an ordered list of disjoint segments (IPv4 ranges, IPv4 per-octet
// blocks such as 10.0-3.0.1-254, IPv6 ranges); ports are an ordered list of
// runs (probe kind, first, last). Memory is proportional to the number of
// segments and runs, never to the number of addresses.
//
// index = portIndex * hostCount + hostIndex: consecutive indices hit different
// hosts on the same port, so even natural order spreads load across hosts (the
// same choice masscan makes); the keyed permutation then spreads it further.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace portflow::job {

enum class ProbeKind : uint8_t { kTcp = 1, kUdp = 2 };

// One probe as handed to engines and, byte for byte, to JavaScript.
struct Probe {
  uint8_t addr[16];  // network order; IPv4 uses bytes 0..3, the rest are 0
  uint16_t port;
  uint8_t kind;      // ProbeKind
  uint8_t family;    // 4 or 6
  uint32_t reserved;
  uint64_t index;    // index in the job's index space
};
static_assert(sizeof(Probe) == 32, "JS decodes 32-byte records");

// The largest count whose every index is an exact JavaScript number.
constexpr uint64_t kMaxCount = uint64_t{1} << 53;

// Input layout, as produced by @portflow/scanner (see job_binding.cc):
// segment words: [type, 0, first0..first3, last0..last3] (big-endian 32-bit
// words of the 128-bit address; IPv4 uses word 3). type 4 = IPv4 range,
// 6 = IPv6 range, 5 = IPv4 octet block (first/last unused; its four 256-bit
// octet bitmaps are the next 32 words of blockBits).
constexpr uint32_t kSegV4Range = 4;
constexpr uint32_t kSegV4Block = 5;
constexpr uint32_t kSegV6Range = 6;
constexpr size_t kSegmentWords = 10;
constexpr size_t kBlockWords = 32;
constexpr size_t kPortRunWords = 3;  // [kind, first, last]

class IndexSpace {
 public:
  // Returns an empty string on success, otherwise a one-line reason; the
  // object is unusable after a failure.
  std::string init(const uint32_t* segments, size_t segment_words, const uint32_t* block_bits,
                   size_t block_words, const uint32_t* port_runs, size_t port_words);

  uint64_t count() const noexcept { return count_; }
  uint64_t host_count() const noexcept { return host_count_; }
  uint64_t port_count() const noexcept { return port_count_; }

  // index must be < count().
  void map(uint64_t index, Probe& out) const noexcept {
    uint64_t port_index = index / host_count_;
    uint64_t host_index = index - port_index * host_count_;
    map_port(port_index, out);
    map_host(host_index, out);
    out.reserved = 0;
    out.index = index;
  }

  // -1 when the probe is not part of this index space.
  int64_t index_of(uint8_t family, const uint8_t addr[16], uint16_t port, uint8_t kind) const noexcept;

 private:
  enum class SegType : uint8_t { kV4Range, kV4Block, kV6Range };
  // 16 bytes: the search and the mapping read this one array (IPv6 bases,
  // rarely needed, live apart).
  struct Segment {
    uint64_t start;  // first host index of this segment
    uint32_t base;   // IPv4 first address, block index, or index into v6_bases_
    SegType type;
  };
  struct V6Base {
    uint64_t hi, lo;
  };
  struct OctetBlock {
    uint8_t values[4][256];  // ordinal -> octet value, ascending
    uint16_t n[4];
    uint8_t member[4][256];  // octet value -> 1 when allowed
    uint8_t ordinal[4][256];  // octet value -> ordinal (valid when member)
  };
  struct PortRun {
    uint64_t start;  // first port index of this run
    uint16_t first;
    uint16_t last;
    uint8_t kind;
  };
  struct Lookup {  // a range segment, sorted by first address for index_of
    uint64_t hi, lo, last_hi, last_lo;
    uint32_t segment;
  };

  void map_port(uint64_t port_index, Probe& out) const noexcept {
    const PortRun* run = &ports_[0];
    if (ports_.size() > 1) run = &ports_[find_run(port_index)];
    out.port = static_cast<uint16_t>(run->first + (port_index - run->start));
    out.kind = run->kind;
  }
  void map_host(uint64_t host_index, Probe& out) const noexcept;
  size_t find_run(uint64_t port_index) const noexcept;
  size_t find_segment(uint64_t host_index) const noexcept;

  std::vector<Segment> segments_;
  std::vector<V6Base> v6_bases_;
  // With many segments (a target file of single addresses) a plain binary
  // search costs a cache miss per step. Buckets of equal host-index width
  // remember the segment holding their first index, so a lookup searches only
  // the segments that start inside one bucket: O(1) expected, O(log n) worst.
  std::vector<uint32_t> bucket_first_;
  uint64_t bucket_width_ = 0;
  std::vector<OctetBlock> blocks_;
  std::vector<PortRun> ports_;
  std::vector<uint64_t> port_starts_;
  std::vector<Lookup> v4_lookup_, v6_lookup_;
  std::vector<uint32_t> block_segments_;
  uint64_t host_count_ = 0;
  uint64_t port_count_ = 0;
  uint64_t count_ = 0;
};

}  // namespace portflow::job
