// Drops the kernel counts before a packet ever reaches a socket: column 2 of
// /proc/net/softnet_stat (one line per CPU, hex), the backlog queue overflowing because the
// CPU could not keep up. A capture reports their growth since it started, so a fast scan that
// loses replies in the stack (not in its own ring) says so.
#pragma once

#include <cstdint>
#include <memory>

namespace portflow::io {

// Parses softnet_stat text: the sum of the second column over all lines. False if no line
// has two hex columns.
bool ParseSoftnetDrops(const char* text, size_t len, uint64_t* total);

class SoftnetDrops {
 public:
  SoftnetDrops();
  // Takes the baseline. False if the file cannot be read (growth then stays 0).
  bool Start();
  // Re-reads the file (no allocation) and returns the growth since Start().
  uint64_t Poll();
  uint64_t growth() const { return growth_; }

 private:
  bool Read(uint64_t* total);
  std::unique_ptr<char[]> buf_;
  bool ok_ = false;
  uint64_t base_ = 0;
  uint64_t growth_ = 0;
};

}  // namespace portflow::io
