// Byte-order helpers over raw packet memory. memcpy-based so they are free of
// alignment and strict-aliasing undefined behaviour; compilers emit one load/store + bswap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace portflow {

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void StoreBe32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

template <typename T>
inline void StoreLe(uint8_t* p, T v) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "record format is little-endian; add byte swaps for big-endian hosts");
  std::memcpy(p, &v, sizeof(T));
}

template <typename T>
inline T LoadLe(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace portflow
