// Stateless reply matching: a probe carries a keyed 32-bit cookie of its flow, so the
// capture thread validates a reply without any per-probe state (masscan's SYN cookie idea).
//   TCP SYN / ACK probe: sequence number = Cookie(flow); a SYN-ACK or RST answers with
//                        ack = cookie + 1; an ICMP error quotes the probe with seq = cookie.
//   UDP probe:           source port = first + Cookie(flow with sport 0) % count (the
//                        payload belongs to the protocol, so the cookie lives in the port).
//   ICMP echo/timestamp: id = cookie >> 16, seq = cookie & 0xffff.
// SipHash-2-4 keyed per scan (a random 128-bit key), so an off-path sender cannot forge a
// reply that matches; the flow is always written in the probe's direction.
#pragma once

#include <cstdint>
#include <cstring>

namespace portflow::io {

struct CookieKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// A flow in the probe's direction: our address/port -> the target's.
struct Flow {
  uint8_t family = 4;  // 4 or 6
  uint8_t proto = 6;   // 6 TCP, 17 UDP, 1 / 58 ICMP
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  const uint8_t* src = nullptr;  // 4 or 16 bytes
  const uint8_t* dst = nullptr;
};

namespace detail {
inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
    v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m; Round(); Round(); v0 ^= m;
  }
};
inline uint64_t Load64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline uint32_t Load32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
}  // namespace detail

// SipHash-2-4 over (family, proto, ports, src, dst), truncated to 32 bits.
inline uint32_t Cookie(const CookieKey& key, const Flow& f) {
  detail::SipState s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
                     key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  uint64_t len = 0;
  s.Absorb(uint64_t{f.family} | uint64_t{f.proto} << 8 | uint64_t{f.src_port} << 16 |
           uint64_t{f.dst_port} << 32);
  len += 8;
  if (f.family == 6) {
    s.Absorb(detail::Load64(f.src)); s.Absorb(detail::Load64(f.src + 8));
    s.Absorb(detail::Load64(f.dst)); s.Absorb(detail::Load64(f.dst + 8));
    len += 32;
  } else {
    s.Absorb(uint64_t{detail::Load32(f.src)} | uint64_t{detail::Load32(f.dst)} << 32);
    len += 8;
  }
  s.Absorb(len << 56);
  s.v2 ^= 0xff;
  s.Round(); s.Round(); s.Round(); s.Round();
  const uint64_t h = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace portflow::io
