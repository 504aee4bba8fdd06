// Reads the committed pcap fixtures (classic pcap, either byte order).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct PcapFile {
  uint32_t link_type = 0;
  std::vector<std::vector<uint8_t>> frames;
};

inline bool ReadPcap(const std::string& path, PcapFile* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::vector<uint8_t> b;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) b.insert(b.end(), buf, buf + n);
  std::fclose(f);
  if (b.size() < 24) return false;
  auto u32le = [&](size_t o) { return uint32_t(b[o]) | uint32_t(b[o + 1]) << 8 | uint32_t(b[o + 2]) << 16 | uint32_t(b[o + 3]) << 24; };
  const uint32_t magic = u32le(0);
  const bool le = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
  auto u32 = [&](size_t o) { return le ? u32le(o) : __builtin_bswap32(u32le(o)); };
  out->link_type = u32(20) & 0x0fffffff;
  for (size_t off = 24; off + 16 <= b.size();) {
    const uint32_t incl = u32(off + 8);
    if (off + 16 + incl > b.size()) return false;
    out->frames.emplace_back(b.begin() + off + 16, b.begin() + off + 16 + incl);
    off += 16 + incl;
  }
  return true;
}
