// A bounds-checked parser for captured frames. Every read is preceded by a length
// check against the captured bytes, loops are bounded by the input length, and the
// result is a fixed-size struct: no allocation, no exceptions, any input is safe.
// Parsing stops at the first layer that does not fit and says where and why
// (ParseResult::error, error_offset, error_layer) while keeping every layer below it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace portflow {

enum class LinkType : uint8_t {
  kEthernet,  // DLT_EN10MB (1)
  kLinuxSll,  // DLT_LINUX_SLL (113), "cooked" capture v1
  kLinuxSll2, // DLT_LINUX_SLL2 (276)
  kRaw,       // DLT_RAW (101/12) / DLT_IPV4 (228) / DLT_IPV6 (229): starts at the IP header
};

// Maps a pcap link-layer type number; returns false for one we do not parse.
bool LinkTypeFromDlt(uint32_t dlt, LinkType* out);

enum class ParseError : uint8_t {
  kNone,
  kTruncated,    // the capture ends inside a header (or the IP length says more bytes exist)
  kMalformed,    // a length or version field contradicts the packet
  kUnsupported,  // a link type / ethertype we do not decode (not a defect of the packet)
};

enum class Layer : uint8_t { kNone, kLink, kArp, kIp, kIpExtension, kTcp, kUdp, kIcmp, kIcmp6, kQuoted };

enum class ChecksumStatus : uint8_t {
  kNotChecked,  // no checksum at this layer, or not enough bytes captured to verify
  kOk,
  kBad,
  kPartial,     // the kernel marked it not yet computed (TP_STATUS_CSUMNOTREADY): not an error
  kAbsent,      // UDP over IPv4 with checksum 0
};

// What an ICMP/ICMPv6 error says about the probe it quotes.
enum class IcmpMeaning : uint8_t {
  kNone,
  kNetUnreachable,
  kHostUnreachable,
  kProtocolUnreachable,
  kPortUnreachable,       // a closed UDP port
  kAdminProhibited,       // a filtered port (firewall reject)
  kFragmentationNeeded,   // also ICMPv6 packet too big
  kTimeExceeded,
  kParameterProblem,
  kOtherUnreachable,
  kRedirect,
  kSourceQuench,
};

inline constexpr uint8_t kMaxTcpOptions = 40;  // 40 option bytes, at least 1 byte each

struct QuotedProbe {  // the original header an ICMP error carries
  bool present;
  uint8_t family;
  uint8_t proto;
  uint8_t ttl;
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t ip_id;
  bool has_ports;     // at least 4 bytes of the quoted TCP/UDP header
  uint16_t src_port;
  uint16_t dst_port;
  bool has_seq;       // TCP sequence number (8 quoted bytes)
  uint32_t seq;
  bool has_echo;      // quoted ICMP echo id/seq
  uint16_t echo_id;
  uint16_t echo_seq;
};

// Scalars and validity flags come first and are zeroed on every parse; the arrays
// after `reset_boundary` are written only when their flag says they are valid (the
// reset is the parser's biggest fixed cost, so it stays small).
struct ParsedPacket {
  ParseError error;
  Layer error_layer;
  uint32_t error_offset;  // byte offset where the failing layer starts
  uint32_t captured_len;

  // Link
  bool has_mac;       // src_mac and dst_mac (Ethernet)
  bool has_src_mac;   // src_mac only (Linux cooked capture of an Ethernet device)
  uint16_t ethertype;
  uint8_t vlan_count;
  uint16_t vlan_id;   // outermost

  // ARP (arp_* arrays valid when is_arp)
  bool is_arp;
  uint16_t arp_op;

  // IP (src/dst valid when family != 0)
  uint8_t family;  // 0 (no IP layer), 4 or 6
  uint8_t ttl;     // hop limit for IPv6
  uint8_t tos;     // traffic class for IPv6
  bool dont_fragment;
  bool fragment;   // a fragment that is not the first: no L4 header
  uint16_t ip_id;  // IPv4, or the IPv6 fragment header's low 16 bits
  uint32_t flow_label;
  uint8_t proto;   // after IPv6 extension headers
  uint8_t ext_headers;  // IPv6 extension headers skipped
  uint32_t l3_offset;
  uint32_t ip_len;      // length the IP header declares (total)
  ChecksumStatus ip_checksum;

  // L4 common
  uint32_t l4_offset;
  uint16_t src_port;
  uint16_t dst_port;
  ChecksumStatus l4_checksum;
  uint32_t payload_offset;
  uint32_t payload_len;  // bytes actually captured

  // TCP (option_kinds[0..option_count) valid)
  uint32_t seq;
  uint32_t ack;
  uint8_t tcp_flags;
  uint16_t window;
  uint16_t urgent;
  uint8_t option_count;
  bool options_malformed;
  uint16_t mss;           // 0: absent
  int16_t window_scale;   // -1: absent
  bool sack_permitted;
  bool has_timestamps;
  uint32_t tsval;
  uint32_t tsecr;

  // UDP
  uint16_t udp_len;

  // ICMP / ICMPv6 (including NDP); `quoted` valid when quoted.present
  uint8_t icmp_type;
  uint8_t icmp_code;
  uint16_t icmp_id;   // echo / timestamp
  uint16_t icmp_seq;
  uint32_t icmp_mtu;  // fragmentation needed / packet too big
  IcmpMeaning icmp_meaning;
  bool has_quoted;
  // ICMP timestamp reply (type 14)
  uint32_t ts_originate;
  uint32_t ts_receive;
  uint32_t ts_transmit;

  // NDP (ICMPv6 135/136): ndp_target valid when is_ndp, ndp_mac when has_ndp_mac
  bool is_ndp;
  bool ndp_router, ndp_solicited, ndp_override;
  bool has_ndp_mac;       // target (NA) or source (NS) link-layer address option

  // ---- not cleared: valid only under the flags above ----
  uint8_t reset_boundary[1];
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  uint8_t arp_sender_mac[6];
  uint8_t arp_sender_ip[4];
  uint8_t arp_target_mac[6];
  uint8_t arp_target_ip[4];
  uint8_t src[16];
  uint8_t dst[16];
  uint8_t option_kinds[kMaxTcpOptions];  // in wire order
  QuotedProbe quoted;
  uint8_t ndp_target[16];
  uint8_t ndp_mac[6];
};

struct ParseOptions {
  LinkType link = LinkType::kEthernet;
  // The capture said the L4 checksum is partial (CHECKSUM_PARTIAL on lo/veth):
  // report kPartial instead of verifying.
  bool checksum_not_ready = false;
  // Skip L4 checksum verification entirely (the hot path leaves it to the kernel).
  bool verify_checksums = true;
};

// Parses `len` bytes at `data` into `out` (fully overwritten). Returns out->error == kNone on success.
ParseError ParsePacket(const uint8_t* data, size_t len, const ParseOptions& options, ParsedPacket* out);

// A TCP options signature: option kinds in wire order, 4 bits each (kind+1 for kinds
// 0..13, 15 for others), first option in the low nibble, up to 8 options: what
// OS fingerprinting compares (p0f's "olayout").
uint32_t TcpOptionSignature(const ParsedPacket& p);

const char* ParseErrorName(ParseError e);
const char* LayerName(Layer l);
const char* ChecksumStatusName(ChecksumStatus s);
const char* IcmpMeaningName(IcmpMeaning m);

}  // namespace portflow
