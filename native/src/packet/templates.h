// Packet templates: each Build* writes a complete, checksummed packet once;
// the Patch* functions then change fields in place and update every checksum
// that covers them incrementally (RFC 1624), so a sender crafts packet N+1 by
// patching slot memory that already holds packet N: no allocation, no full
// recomputation, no copy per packet.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portflow {

inline constexpr size_t kEthernetHeaderLen = 14;
inline constexpr size_t kIpv4HeaderLen = 20;
inline constexpr size_t kIpv6HeaderLen = 40;
inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kUdpHeaderLen = 8;
inline constexpr size_t kIcmpEchoHeaderLen = 8;
inline constexpr size_t kIcmpTimestampLen = 20;
inline constexpr size_t kArpLen = 28;
inline constexpr size_t kNdpSolicitLen = 32;
inline constexpr size_t kMaxIpPacket = 65535;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
}

struct IpAddress {
  uint8_t family = 0;  // 4 or 6
  uint8_t bytes[16] = {};  // IPv4 uses the first 4
  size_t size() const { return family == 6 ? 16 : 4; }
};

struct LinkSpec {
  bool ethernet = false;  // false: the packet starts at the IP header (raw socket)
  uint8_t src_mac[6] = {};
  uint8_t dst_mac[6] = {};
};

struct IpSpec {
  IpAddress src;
  IpAddress dst;
  uint8_t ttl = 64;          // hop limit for IPv6
  uint16_t ip_id = 0;        // IPv4 only
  bool dont_fragment = true;  // IPv4 only
  uint8_t tos = 0;           // traffic class for IPv6
  uint32_t flow_label = 0;   // IPv6 only, 20 bits
};

struct TcpSpec {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = tcp_flag::kSyn;
  uint16_t window = 64240;
  // Options, laid out in the order Linux sends them on a SYN: MSS, SACK-permitted,
  // timestamps, NOP, window scale (NOP padding replaces any that are off).
  uint16_t mss = 0;       // 0: no MSS option
  bool sack_permitted = false;
  bool timestamps = false;
  uint32_t tsval = 0;
  uint32_t tsecr = 0;
  int16_t window_scale = -1;  // -1: no window-scale option
};

struct UdpSpec {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

struct IcmpEchoSpec {
  uint16_t id = 0;
  uint16_t seq = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

struct IcmpTimestampSpec {
  uint16_t id = 0;
  uint16_t seq = 0;
  uint32_t originate = 0;  // ms since midnight UT (RFC 792)
};

// Where things are in a built packet; Patch* functions need it.
struct Layout {
  uint32_t length = 0;    // total bytes written
  uint8_t l3 = 0;         // offset of the IP (or ARP) header
  uint8_t l4 = 0;         // offset of the TCP/UDP/ICMP header
  uint8_t family = 0;     // 4, 6; 0 for ARP
  uint8_t proto = 0;      // IP protocol number
  uint8_t tsval = 0;      // offset of the TCP timestamp option's TSval, 0 if none
  uint8_t l4_csum = 0;    // offset of the L4 checksum field, 0 if none
};

enum class BuildStatus : uint8_t {
  kOk,
  kBufferTooSmall,
  kBadFamily,        // src and dst differ in family, or the protocol does not exist for it
  kPayloadTooLarge,  // the IP packet would exceed 65,535 bytes
};

const char* BuildStatusMessage(BuildStatus status);

// Exact length Build* will write, so callers can size buffers (0 if impossible).
size_t TcpPacketLen(const LinkSpec& link, const IpSpec& ip, const TcpSpec& tcp);
size_t UdpPacketLen(const LinkSpec& link, const IpSpec& ip, size_t payload_len);
size_t IcmpEchoPacketLen(const LinkSpec& link, const IpSpec& ip, size_t payload_len);
inline size_t TcpOptionsLen(const TcpSpec& tcp) {
  size_t n = 0;
  if (tcp.mss) n += 4;
  if (tcp.sack_permitted && tcp.timestamps) n += 2 + 10;  // SACK-perm sits in front of TS with no padding
  else if (tcp.sack_permitted) n += 4;                 // NOP NOP SACK-perm
  else if (tcp.timestamps) n += 12;                   // NOP NOP TS
  if (tcp.window_scale >= 0) n += 4;                  // NOP WS
  return n;
}

BuildStatus BuildTcp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const TcpSpec& tcp, Layout* layout);
BuildStatus BuildUdp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const UdpSpec& udp, Layout* layout);
// ICMP echo request for IPv4, ICMPv6 echo request for IPv6.
BuildStatus BuildIcmpEcho(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const IcmpEchoSpec& echo, Layout* layout);
BuildStatus BuildIcmpTimestamp(uint8_t* out, size_t cap, const LinkSpec& link, const IpSpec& ip, const IcmpTimestampSpec& ts, Layout* layout);
// Broadcast ARP who-has; always Ethernet-framed.
BuildStatus BuildArpRequest(uint8_t* out, size_t cap, const uint8_t src_mac[6], const uint8_t sender_ip[4], const uint8_t target_ip[4], Layout* layout);
// Neighbour solicitation to the target's solicited-node multicast group; always Ethernet-framed.
BuildStatus BuildNdpSolicit(uint8_t* out, size_t cap, const uint8_t src_mac[6], const uint8_t src_ip[16], const uint8_t target_ip[16], Layout* layout);

// In-place field changes with incremental checksum updates. Each is a no-op on a layout it
// does not apply to (an address patch on an ARP frame, a port patch on ICMP, ...).
void PatchDstAddr(uint8_t* pkt, const Layout& layout, const uint8_t* addr);  // 4 or 16 bytes per layout.family
void PatchSrcAddr(uint8_t* pkt, const Layout& layout, const uint8_t* addr);
void PatchPorts(uint8_t* pkt, const Layout& layout, uint16_t src_port, uint16_t dst_port);
void PatchTcpSeq(uint8_t* pkt, const Layout& layout, uint32_t seq);
void PatchTcpAck(uint8_t* pkt, const Layout& layout, uint32_t ack);
void PatchTcpTsval(uint8_t* pkt, const Layout& layout, uint32_t tsval);  // no-op without a timestamp option
void PatchIpId(uint8_t* pkt, const Layout& layout, uint16_t ip_id);       // no-op on IPv6
void PatchTtl(uint8_t* pkt, const Layout& layout, uint8_t ttl);
void PatchIcmpEcho(uint8_t* pkt, const Layout& layout, uint16_t id, uint16_t seq);

// The whole per-probe patch of a SYN in one pass: one checksum fold for TCP and one for IPv4.
void PatchSynProbe(uint8_t* pkt, const Layout& layout, const uint8_t* dst_addr, uint16_t src_port, uint16_t dst_port,
                   uint32_t seq, uint32_t tsval, uint16_t ip_id);

// The TCP timestamp clock: CLOCK_REALTIME in microseconds, modulo 2^32. A SYN carries it
// as TSval, the SYN-ACK echoes it as TSecr, so RTT = (now - TSecr) mod 2^32 µs, stateless.
uint32_t SendClockMicros();

}  // namespace portflow
