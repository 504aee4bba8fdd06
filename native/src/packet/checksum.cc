#include "packet/checksum.h"

#include <cstring>

#include "common/bytes.h"

namespace portflow {

uint64_t SumBytes(const uint8_t* data, size_t len, uint64_t acc) {
  // 32-bit host-order chunks into a 64-bit accumulator: no carry handling
  // needed until 2^32 chunks, far beyond any packet.
  while (len >= 8) {
    uint32_t a, b;
    std::memcpy(&a, data, 4);
    std::memcpy(&b, data + 4, 4);
    acc += a;
    acc += b;
    data += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t a;
    std::memcpy(&a, data, 4);
    acc += a;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t a;
    std::memcpy(&a, data, 2);
    acc += a;
    data += 2;
    len -= 2;
  }
  if (len == 1) {
    // Zero pad in network order: the byte is the high half of a big-endian word,
    // which is the low byte of a host-order (little-endian) word.
    acc += data[0];
  }
  return acc;
}

static inline uint16_t FoldHost(uint64_t acc) {
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}

uint16_t FoldSum(uint64_t acc) { return __builtin_bswap16(FoldHost(acc)); }

uint16_t FoldComplement(uint64_t acc) { return static_cast<uint16_t>(~FoldSum(acc)); }

uint64_t PseudoHeaderSum4(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint32_t l4_len) {
  uint8_t tail[4] = {0, proto, static_cast<uint8_t>(l4_len >> 8), static_cast<uint8_t>(l4_len)};
  uint64_t acc = SumBytes(src, 4);
  acc = SumBytes(dst, 4, acc);
  return SumBytes(tail, 4, acc);
}

uint64_t PseudoHeaderSum6(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint32_t l4_len) {
  uint8_t tail[8];
  StoreBe32(tail, l4_len);
  tail[4] = tail[5] = tail[6] = 0;
  tail[7] = proto;
  uint64_t acc = SumBytes(src, 16);
  acc = SumBytes(dst, 16, acc);
  return SumBytes(tail, 8, acc);
}

uint16_t ChecksumAdjustBytes(uint16_t csum, const uint8_t* old_bytes, const uint8_t* new_bytes, size_t len) {
  // ~HC + sum(~m) + sum(m') folded once: the multi-word form of RFC 1624 eqn. 3.
  uint64_t acc = static_cast<uint16_t>(~csum);
  for (size_t i = 0; i + 1 < len; i += 2) {
    acc += static_cast<uint16_t>(~LoadBe16(old_bytes + i));
    acc += LoadBe16(new_bytes + i);
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

}  // namespace portflow
