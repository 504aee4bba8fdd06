// Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sums are accumulated unfolded in 64 bits so that callers can add pieces
// (pseudo-header, header, payload) in any order and fold once at the end.
// Words are summed in host order: the one's-complement sum is byte-order
// independent (RFC 1071 §2(B)), so Fold() swaps once instead of per word.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portflow {

// Unfolded one's-complement partial sum of `len` bytes, in host byte order.
// An odd trailing byte is padded with zero as the RFC requires, so only the
// last piece of a sum may have an odd length.
uint64_t SumBytes(const uint8_t* data, size_t len, uint64_t acc = 0);

// Folds a host-order partial sum to 16 bits and returns the network-order
// (big-endian numeric) complement: the value to store in a checksum field.
uint16_t FoldComplement(uint64_t acc);

// Folds without complementing; a valid packet's total sum folds to 0xffff.
uint16_t FoldSum(uint64_t acc);

// Host-order partial sum of the IPv4 / IPv6 pseudo-header.
uint64_t PseudoHeaderSum4(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint32_t l4_len);
uint64_t PseudoHeaderSum6(const uint8_t* src, const uint8_t* dst, uint8_t proto, uint32_t l4_len);

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), all values big-endian numeric.
// Used when one 16-bit word of a checksummed region changes.
inline uint16_t ChecksumAdjust16(uint16_t csum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~csum) + static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) + new_word;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Same for a run of big-endian bytes (a 32-bit field, an address): `len` must be even.
uint16_t ChecksumAdjustBytes(uint16_t csum, const uint8_t* old_bytes, const uint8_t* new_bytes, size_t len);

}  // namespace portflow
