// The capture socket's classic BPF filter, compiled from the scan's source addresses, source
// port range and mode, so the kernel copies only packets that can be replies to our probes into
// the capture ring (a busy host's other traffic never costs a ring slot or a parse):
//   TCP (tcp-syn, discovery) or UDP (udp) to one of our addresses and a port in our range;
//   ICMP / ICMPv6 errors (unreachable, packet too big, time exceeded, parameter problem) to us;
//   discovery only: ICMP echo / timestamp replies and ICMPv6 echo replies to us, ARP replies
//   whose target protocol address is ours, NDP neighbour advertisements to us.
// IPv4 later fragments carry no L4 header and are rejected; IPv6 replies with extension headers
// before TCP/UDP/ICMPv6 are rejected (replies to probes do not carry them). No VLAN tags.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "packet/templates.h"

namespace portflow::io {

// Probe modes (CaptureConfig::mode).
inline constexpr uint8_t kModeTcpSyn = 0;
inline constexpr uint8_t kModeUdp = 1;
inline constexpr uint8_t kModeDiscovery = 2;

struct FilterSpec {
  bool ethernet = true;    // frames start with a 14-byte Ethernet header; else at the IP header
  IpAddress src_v4, src_v6;  // family 0: that family is not scanned, its packets are rejected
  uint16_t port_first = 0, port_count = 0;
  uint8_t mode = kModeTcpSyn;
};

// What an accepted packet's snapshot length is (the whole packet, as far as the ring slot holds).
inline constexpr uint32_t kFilterSnapLen = 0x40000;

// Compiles the filter. Throws std::invalid_argument naming the field for an impossible spec
// (no address, an empty or overflowing port range in a mode that needs one, an unknown mode).
std::vector<sock_filter> CompileCaptureFilter(const FilterSpec& spec);

}  // namespace portflow::io
