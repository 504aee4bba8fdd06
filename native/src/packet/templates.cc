#include "packet/templates.h"

#include <ctime>
#include <cstring>

#include "common/bytes.h"
#include "packet/checksum.h"

namespace portflow {

namespace {

// Accumulates RFC 1624 deltas in host order for one checksum field, so a patch
// that touches several words folds once.
class ChecksumDelta {
 public:
  // Replaces `len` (even) bytes at `field` with `value`, recording the change.
  void Replace(uint8_t* field, const uint8_t* value, size_t len) {
    for (size_t i = 0; i < len; i += 2) {
      uint16_t old_word, new_word;
      std::memcpy(&old_word, field + i, 2);
      std::memcpy(&new_word, value + i, 2);
      acc_ += static_cast<uint16_t>(~old_word);
      acc_ += new_word;
    }
    std::memcpy(field, value, len);
  }
  // Records a change made elsewhere (a field covered by two checksums).
  void Note(const uint8_t* old_value, const uint8_t* new_value, size_t len) {
    for (size_t i = 0; i < len; i += 2) {
      uint16_t old_word, new_word;
      std::memcpy(&old_word, old_value + i, 2);
      std::memcpy(&new_word, new_value + i, 2);
      acc_ += static_cast<uint16_t>(~old_word);
      acc_ += new_word;
    }
  }
  void Apply(uint8_t* csum_field, bool zero_means_none) const {
    uint16_t c;
    std::memcpy(&c, csum_field, 2);
    uint64_t acc = acc_ + static_cast<uint16_t>(~c);
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    c = static_cast<uint16_t>(~acc);
    if (zero_means_none && c == 0) c = 0xffff;
    std::memcpy(csum_field, &c, 2);
  }

 private:
  uint64_t acc_ = 0;
};

bool HasPseudoHeader(const Layout& l) { return l.proto == kProtoTcp || l.proto == kProtoUdp || l.proto == kProtoIcmp6; }

size_t LinkLen(const LinkSpec& link) { return link.ethernet ? kEthernetHeaderLen : 0; }
size_t IpLen(const IpSpec& ip) { return ip.src.family == 6 ? kIpv6HeaderLen : kIpv4HeaderLen; }
bool FamiliesOk(const IpSpec& ip) {
  return (ip.src.family == 4 || ip.src.family == 6) && ip.src.family == ip.dst.family;
}

void WriteEthernet(uint8_t* p, const uint8_t dst[6], const uint8_t src[6], uint16_t ethertype) {
  std::memcpy(p, dst, 6);
  std::memcpy(p + 6, src, 6);
  StoreBe16(p + 12, ethertype);
}

// Writes link + IP headers; returns the L4 offset. The IPv4 header checksum is final.
size_t WriteHeaders(uint8_t* out, const LinkSpec& link, const IpSpec& ip, uint8_t proto, size_t l4_len, Layout* layout) {
  size_t off = 0;
  if (link.ethernet) {
    WriteEthernet(out, link.dst_mac, link.src_mac, ip.src.family == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    off = kEthernetHeaderLen;
  }
  uint8_t* h = out + off;
  layout->l3 = static_cast<uint8_t>(off);
  layout->family = ip.src.family;
  layout->proto = proto;
  if (ip.src.family == 4) {
    h[0] = 0x45;
    h[1] = ip.tos;
    StoreBe16(h + 2, static_cast<uint16_t>(kIpv4HeaderLen + l4_len));
    StoreBe16(h + 4, ip.ip_id);
    StoreBe16(h + 6, ip.dont_fragment ? 0x4000 : 0);
    h[8] = ip.ttl;
    h[9] = proto;
    h[10] = h[11] = 0;
    std::memcpy(h + 12, ip.src.bytes, 4);
    std::memcpy(h + 16, ip.dst.bytes, 4);
    StoreBe16(h + 10, FoldComplement(SumBytes(h, kIpv4HeaderLen)));
    off += kIpv4HeaderLen;
  } else {
    StoreBe32(h, (6u << 28) | (static_cast<uint32_t>(ip.tos) << 20) | (ip.flow_label & 0xfffff));
    StoreBe16(h + 4, static_cast<uint16_t>(l4_len));
    h[6] = proto;
    h[7] = ip.ttl;
    std::memcpy(h + 8, ip.src.bytes, 16);
    std::memcpy(h + 24, ip.dst.bytes, 16);
    off += kIpv6HeaderLen;
  }
  layout->l4 = static_cast<uint8_t>(off);
  layout->length = static_cast<uint32_t>(off + l4_len);
  return off;
}

uint64_t PseudoSum(const IpSpec& ip, uint8_t proto, size_t l4_len) {
  return ip.src.family == 4 ? PseudoHeaderSum4(ip.src.bytes, ip.dst.bytes, proto, static_cast<uint32_t>(l4_len))
                            : PseudoHeaderSum6(ip.src.bytes, ip.dst.bytes, proto, static_cast<uint32_t>(l4_len));
}

BuildStatus CheckSizes(const LinkSpec& link, const IpSpec& ip, size_t l4_len, size_t cap) {
  if (!FamiliesOk(ip)) return BuildStatus::kBadFamily;
  // IPv4 total length counts the IP header; the IPv6 payload length does not.
  if (l4_len + (ip.src.family == 4 ? kIpv4HeaderLen : 0) > kMaxIpPacket) return BuildStatus::kPayloadTooLarge;
  if (LinkLen(link) + IpLen(ip) + l4_len > cap) return BuildStatus::kBufferTooSmall;
  return BuildStatus::kOk;
}

}  // namespace

const char* BuildStatusMessage(BuildStatus status) {
  switch (status) {
    case BuildStatus::kOk: return "ok";
    case BuildStatus::kBufferTooSmall: return "output buffer too small for the packet";
    case BuildStatus::kBadFamily: return "source and destination must both be IPv4 or both IPv6, and the protocol must exist for that family";
    case BuildStatus::kPayloadTooLarge: return "payload too large: the IP packet would exceed 65,535 bytes";
  }
  return "unknown build status";
}

size_t TcpPacketLen(const LinkSpec& link, const IpSpec& ip, const TcpSpec& tcp) {
  return LinkLen(link) + IpLen(ip) + kTcpHeaderLen + TcpOptionsLen(tcp);
}
size_t UdpPacketLen(const LinkSpec& link, const IpSpec& ip, size_t payload_len) {
  return LinkLen(link) + IpLen(ip) + kUdpHeaderLen + payload_len;
}
size_t IcmpEchoPacketLen(const LinkSpec& link, const IpSpec& ip, size_t payload_len) {
  return LinkLen(link) + IpLen(ip) + kIcmpEchoHeaderLen + payload_len;
}

BuildStatus BuildTcp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const TcpSpec& tcp, Layout* layout) {
  const size_t opt_len = TcpOptionsLen(tcp);
  const size_t l4_len = kTcpHeaderLen + opt_len;
  if (BuildStatus s = CheckSizes(link, ip, l4_len, cap); s != BuildStatus::kOk) return s;
  *layout = Layout{};
  const size_t off = WriteHeaders(out, link, ip, kProtoTcp, l4_len, layout);
  uint8_t* t = out + off;
  StoreBe16(t, tcp.src_port);
  StoreBe16(t + 2, tcp.dst_port);
  StoreBe32(t + 4, tcp.seq);
  StoreBe32(t + 8, tcp.ack);
  t[12] = static_cast<uint8_t>((l4_len / 4) << 4);
  t[13] = tcp.flags;
  StoreBe16(t + 14, tcp.window);
  t[16] = t[17] = 0;
  t[18] = t[19] = 0;
  uint8_t* o = t + kTcpHeaderLen;
  if (tcp.mss) {
    o[0] = 2; o[1] = 4;
    StoreBe16(o + 2, tcp.mss);
    o += 4;
  }
  if (!(tcp.sack_permitted && tcp.timestamps) && (tcp.sack_permitted || tcp.timestamps)) {
    o[0] = 1; o[1] = 1;
    o += 2;
  }
  if (tcp.sack_permitted) {
    o[0] = 4; o[1] = 2;
    o += 2;
  }
  if (tcp.timestamps) {
    o[0] = 8; o[1] = 10;
    StoreBe32(o + 2, tcp.tsval);
    StoreBe32(o + 6, tcp.tsecr);
    layout->tsval = static_cast<uint8_t>(o + 2 - out);
    o += 10;
  }
  if (tcp.window_scale >= 0) {
    o[0] = 1; o[1] = 3; o[2] = 3;
    o[3] = static_cast<uint8_t>(tcp.window_scale);
    o += 4;
  }
  layout->l4_csum = static_cast<uint8_t>(off + 16);
  StoreBe16(t + 16, FoldComplement(SumBytes(t, l4_len, PseudoSum(ip, kProtoTcp, l4_len))));
  return BuildStatus::kOk;
}

BuildStatus BuildUdp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const UdpSpec& udp, Layout* layout) {
  const size_t l4_len = kUdpHeaderLen + udp.payload_len;
  if (BuildStatus s = CheckSizes(link, ip, l4_len, cap); s != BuildStatus::kOk) return s;
  *layout = Layout{};
  const size_t off = WriteHeaders(out, link, ip, kProtoUdp, l4_len, layout);
  uint8_t* u = out + off;
  StoreBe16(u, udp.src_port);
  StoreBe16(u + 2, udp.dst_port);
  StoreBe16(u + 4, static_cast<uint16_t>(l4_len));
  u[6] = u[7] = 0;
  if (udp.payload_len) std::memcpy(u + kUdpHeaderLen, udp.payload, udp.payload_len);
  uint16_t c = FoldComplement(SumBytes(u, l4_len, PseudoSum(ip, kProtoUdp, l4_len)));
  StoreBe16(u + 6, c == 0 ? 0xffff : c);  // 0 means "no checksum" in UDP
  layout->l4_csum = static_cast<uint8_t>(off + 6);
  return BuildStatus::kOk;
}

BuildStatus BuildIcmpEcho(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const IcmpEchoSpec& echo, Layout* layout) {
  const size_t l4_len = kIcmpEchoHeaderLen + echo.payload_len;
  if (BuildStatus s = CheckSizes(link, ip, l4_len, cap); s != BuildStatus::kOk) return s;
  *layout = Layout{};
  const bool v6 = ip.src.family == 6;
  const uint8_t proto = v6 ? kProtoIcmp6 : kProtoIcmp;
  const size_t off = WriteHeaders(out, link, ip, proto, l4_len, layout);
  uint8_t* m = out + off;
  m[0] = v6 ? 128 : 8;
  m[1] = 0;
  m[2] = m[3] = 0;
  StoreBe16(m + 4, echo.id);
  StoreBe16(m + 6, echo.seq);
  if (echo.payload_len) std::memcpy(m + kIcmpEchoHeaderLen, echo.payload, echo.payload_len);
  const uint64_t base = v6 ? PseudoSum(ip, kProtoIcmp6, l4_len) : 0;  // ICMPv4 has no pseudo-header
  StoreBe16(m + 2, FoldComplement(SumBytes(m, l4_len, base)));
  layout->l4_csum = static_cast<uint8_t>(off + 2);
  return BuildStatus::kOk;
}

BuildStatus BuildIcmpTimestamp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const IcmpTimestampSpec& ts, Layout* layout) {
  if (ip.src.family != 4) return BuildStatus::kBadFamily;  // ICMP timestamp has no IPv6 counterpart
  if (BuildStatus s = CheckSizes(link, ip, kIcmpTimestampLen, cap); s != BuildStatus::kOk) return s;
  *layout = Layout{};
  const size_t off = WriteHeaders(out, link, ip, kProtoIcmp, kIcmpTimestampLen, layout);
  uint8_t* m = out + off;
  std::memset(m, 0, kIcmpTimestampLen);
  m[0] = 13;
  StoreBe16(m + 4, ts.id);
  StoreBe16(m + 6, ts.seq);
  StoreBe32(m + 8, ts.originate);
  StoreBe16(m + 2, FoldComplement(SumBytes(m, kIcmpTimestampLen)));
  layout->l4_csum = static_cast<uint8_t>(off + 2);
  return BuildStatus::kOk;
}

BuildStatus BuildArpRequest(uint8_t* out, size_t cap, const uint8_t src_mac[6], const uint8_t sender_ip[4], const uint8_t target_ip[4], Layout* layout) {
  if (cap < kEthernetHeaderLen + kArpLen) return BuildStatus::kBufferTooSmall;
  static constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  *layout = Layout{};
  WriteEthernet(out, kBroadcast, src_mac, kEtherTypeArp);
  uint8_t* a = out + kEthernetHeaderLen;
  StoreBe16(a, 1);               // Ethernet
  StoreBe16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  StoreBe16(a + 6, 1);           // request
  std::memcpy(a + 8, src_mac, 6);
  std::memcpy(a + 14, sender_ip, 4);
  std::memset(a + 18, 0, 6);
  std::memcpy(a + 24, target_ip, 4);
  layout->l3 = kEthernetHeaderLen;
  layout->l4 = kEthernetHeaderLen;
  layout->length = kEthernetHeaderLen + kArpLen;
  return BuildStatus::kOk;
}

BuildStatus BuildNdpSolicit(uint8_t* out, size_t cap, const uint8_t src_mac[6], const uint8_t src_ip[16], const uint8_t target_ip[16], Layout* layout) {
  if (cap < kEthernetHeaderLen + kIpv6HeaderLen + kNdpSolicitLen) return BuildStatus::kBufferTooSmall;
  LinkSpec link;
  link.ethernet = true;
  std::memcpy(link.src_mac, src_mac, 6);
  // Solicited-node multicast (RFC 4291 §2.7.1) and its MAC (RFC 2464 §7).
  const uint8_t group_mac[6] = {0x33, 0x33, 0xff, target_ip[13], target_ip[14], target_ip[15]};
  std::memcpy(link.dst_mac, group_mac, 6);
  IpSpec ip;
  ip.src.family = ip.dst.family = 6;
  std::memcpy(ip.src.bytes, src_ip, 16);
  const uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target_ip[13], target_ip[14], target_ip[15]};
  std::memcpy(ip.dst.bytes, group, 16);
  ip.ttl = 255;  // RFC 4861 §7.1.1: receivers drop NDP with any other hop limit
  *layout = Layout{};
  const size_t off = WriteHeaders(out, link, ip, kProtoIcmp6, kNdpSolicitLen, layout);
  uint8_t* m = out + off;
  std::memset(m, 0, kNdpSolicitLen);
  m[0] = 135;
  std::memcpy(m + 8, target_ip, 16);
  m[24] = 1;  // source link-layer address option, 1 unit of 8 bytes
  m[25] = 1;
  std::memcpy(m + 26, src_mac, 6);
  StoreBe16(m + 2, FoldComplement(SumBytes(m, kNdpSolicitLen, PseudoSum(ip, kProtoIcmp6, kNdpSolicitLen))));
  layout->l4_csum = static_cast<uint8_t>(off + 2);
  return BuildStatus::kOk;
}

static bool IsIp(const Layout& l) { return l.family == 4 || l.family == 6; }

void PatchDstAddr(uint8_t* pkt, const Layout& l, const uint8_t* addr) {
  if (!IsIp(l)) return;  // ARP frames have no IP header to patch
  ChecksumDelta d;
  uint8_t* field = pkt + l.l3 + (l.family == 4 ? 16 : 24);
  const size_t n = l.family == 4 ? 4 : 16;
  d.Note(field, addr, n);
  if (HasPseudoHeader(l)) d.Apply(pkt + l.l4_csum, l.proto == kProtoUdp);
  ChecksumDelta ip_delta;
  ip_delta.Replace(field, addr, n);
  if (l.family == 4) ip_delta.Apply(pkt + l.l3 + 10, false);
}

void PatchSrcAddr(uint8_t* pkt, const Layout& l, const uint8_t* addr) {
  if (!IsIp(l)) return;
  ChecksumDelta d;
  uint8_t* field = pkt + l.l3 + (l.family == 4 ? 12 : 8);
  const size_t n = l.family == 4 ? 4 : 16;
  d.Note(field, addr, n);
  if (HasPseudoHeader(l)) d.Apply(pkt + l.l4_csum, l.proto == kProtoUdp);
  ChecksumDelta ip_delta;
  ip_delta.Replace(field, addr, n);
  if (l.family == 4) ip_delta.Apply(pkt + l.l3 + 10, false);
}

void PatchPorts(uint8_t* pkt, const Layout& l, uint16_t src_port, uint16_t dst_port) {
  if (l.proto != kProtoTcp && l.proto != kProtoUdp) return;
  uint8_t v[4];
  StoreBe16(v, src_port);
  StoreBe16(v + 2, dst_port);
  ChecksumDelta d;
  d.Replace(pkt + l.l4, v, 4);
  d.Apply(pkt + l.l4_csum, l.proto == kProtoUdp);
}

static void PatchTcp32(uint8_t* pkt, const Layout& l, size_t offset, uint32_t value) {
  uint8_t v[4];
  StoreBe32(v, value);
  ChecksumDelta d;
  d.Replace(pkt + offset, v, 4);
  d.Apply(pkt + l.l4_csum, false);
}

void PatchTcpSeq(uint8_t* pkt, const Layout& l, uint32_t seq) {
  if (l.proto == kProtoTcp) PatchTcp32(pkt, l, l.l4 + 4u, seq);
}
void PatchTcpAck(uint8_t* pkt, const Layout& l, uint32_t ack) {
  if (l.proto == kProtoTcp) PatchTcp32(pkt, l, l.l4 + 8u, ack);
}
void PatchTcpTsval(uint8_t* pkt, const Layout& l, uint32_t tsval) {
  if (l.proto == kProtoTcp && l.tsval) PatchTcp32(pkt, l, l.tsval, tsval);
}

void PatchIpId(uint8_t* pkt, const Layout& l, uint16_t ip_id) {
  if (l.family != 4) return;
  uint8_t v[2];
  StoreBe16(v, ip_id);
  ChecksumDelta d;
  d.Replace(pkt + l.l3 + 4, v, 2);
  d.Apply(pkt + l.l3 + 10, false);
}

void PatchTtl(uint8_t* pkt, const Layout& l, uint8_t ttl) {
  if (!IsIp(l)) return;
  if (l.family == 6) {
    pkt[l.l3 + 7] = ttl;  // the hop limit is in no checksum
    return;
  }
  // TTL shares a 16-bit word with the protocol; patch the word.
  const uint8_t v[2] = {ttl, pkt[l.l3 + 9]};
  ChecksumDelta d;
  d.Replace(pkt + l.l3 + 8, v, 2);
  d.Apply(pkt + l.l3 + 10, false);
}

void PatchIcmpEcho(uint8_t* pkt, const Layout& l, uint16_t id, uint16_t seq) {
  if (l.proto != kProtoIcmp && l.proto != kProtoIcmp6) return;
  uint8_t v[4];
  StoreBe16(v, id);
  StoreBe16(v + 2, seq);
  ChecksumDelta d;
  d.Replace(pkt + l.l4 + 4, v, 4);
  d.Apply(pkt + l.l4_csum, false);
}

void PatchSynProbe(uint8_t* pkt, const Layout& l, const uint8_t* dst_addr, uint16_t src_port, uint16_t dst_port,
                   uint32_t seq, uint32_t tsval, uint16_t ip_id) {
  if (l.proto != kProtoTcp) return;  // a layout of anything but a TCP template
  ChecksumDelta tcp;
  uint8_t* ip = pkt + l.l3;
  uint8_t* t = pkt + l.l4;
  uint8_t v[8];
  StoreBe16(v, src_port);
  StoreBe16(v + 2, dst_port);
  StoreBe32(v + 4, seq);
  tcp.Replace(t, v, 8);
  if (l.tsval) {
    StoreBe32(v, tsval);
    tcp.Replace(pkt + l.tsval, v, 4);
  }
  if (l.family == 4) {
    ChecksumDelta ipd;
    tcp.Note(ip + 16, dst_addr, 4);
    ipd.Replace(ip + 16, dst_addr, 4);
    StoreBe16(v, ip_id);
    ipd.Replace(ip + 4, v, 2);
    ipd.Apply(ip + 10, false);
  } else {
    tcp.Note(ip + 24, dst_addr, 16);
    std::memcpy(ip + 24, dst_addr, 16);
  }
  tcp.Apply(pkt + l.l4_csum, false);
}

uint32_t SendClockMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint32_t>(static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u);
}

}  // namespace portflow
