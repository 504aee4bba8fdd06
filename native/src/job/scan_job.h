// A scan job: the index space walked in keyed pseudo-random (or natural)
// order, cut into shards, with resume positions.
//
// Shard k of n takes global positions k, k + n, k + 2n, ... of the permuted
// sequence; every shard uses the same seed, so the shards partition the index
// space exactly and n machines cover a scan once. Positions handed to engines
// and resume positions are positions in this shard's sequence.
#pragma once

#include <cstdint>
#include <string>

#include "index_space.h"
#include "permutation.h"
#include "progress_window.h"

namespace portflow::job {

struct ShardSpec {
  uint64_t index = 0;
  uint64_t count = 1;
};

class ScanJob {
 public:
  // Returns an empty string on success, else a one-line reason.
  std::string init(const uint32_t* segments, size_t segment_words, const uint32_t* block_bits,
                   size_t block_words, const uint32_t* port_runs, size_t port_words, uint64_t seed,
                   bool natural, ShardSpec shard, uint64_t start_position) {
    std::string err = space_.init(segments, segment_words, block_bits, block_words, port_runs, port_words);
    if (!err.empty()) return err;
    if (shard.count == 0 || shard.index >= shard.count)
      return "shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) +
             " is impossible: need 0 <= index < count";
    shard_ = shard;
    const uint64_t total = space_.count();
    length_ = total > shard.index ? (total - 1 - shard.index) / shard.count + 1 : 0;
    if (start_position > length_)
      return "start position " + std::to_string(start_position) + " is beyond this shard's " +
             std::to_string(length_) + " positions";
    perm_.init(total, seed, natural);
    progress_.reset(start_position);
    return {};
  }

  const IndexSpace& space() const noexcept { return space_; }
  uint64_t count() const noexcept { return space_.count(); }
  uint64_t length() const noexcept { return length_; }  // positions in this shard
  uint64_t low_water() const noexcept { return progress_.low_water(); }
  uint64_t high_water() const noexcept { return progress_.high_water(); }
  ShardSpec shard() const noexcept { return shard_; }
  bool natural() const noexcept { return perm_.natural(); }

  // position in [0, length()) -> index in the index space.
  uint64_t index_at(uint64_t position) const noexcept {
    return perm_.at(shard_.index + position * shard_.count);
  }

  // index -> position in this shard, or -1 when another shard owns it.
  int64_t position_of(uint64_t index) const noexcept {
    uint64_t global = perm_.position_of(index);
    if (global % shard_.count != shard_.index) return -1;
    return static_cast<int64_t>(global / shard_.count);
  }

  void probe_at(uint64_t position, Probe& out) const noexcept { space_.map(index_at(position), out); }

  // Fills up to max probes from high_water on and marks them in flight.
  size_t next_batch(Probe* out, size_t max) {
    uint64_t pos = progress_.high_water();
    uint64_t left = length_ - pos;
    size_t n = left < max ? static_cast<size_t>(left) : max;
    for (size_t i = 0; i < n; ++i) probe_at(pos + i, out[i]);
    progress_.issue(n);
    return n;
  }

  ProgressWindow::Mark mark_done(uint64_t position) noexcept { return progress_.mark_done(position); }

 private:
  IndexSpace space_;
  Permutation perm_;
  ProgressWindow progress_;
  ShardSpec shard_;
  uint64_t length_ = 0;
};

}  // namespace portflow::job
