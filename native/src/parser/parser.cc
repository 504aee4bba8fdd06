#include "parser/parser.h"

#include <cstddef>
#include <cstring>

#include "common/bytes.h"
#include "packet/checksum.h"
#include "packet/templates.h"

namespace portflow {

namespace {

constexpr size_t kSllHeaderLen = 16;
constexpr size_t kSll2HeaderLen = 20;
constexpr int kMaxVlanTags = 2;
constexpr int kMaxIpv6Extensions = 16;  // far more than any real packet; bounds the walk

ParseError Fail(ParsedPacket* out, ParseError e, Layer layer, size_t offset) {
  out->error = e;
  out->error_layer = layer;
  out->error_offset = static_cast<uint32_t>(offset);
  return e;
}

bool IsIpv6Extension(uint8_t next) {
  switch (next) {
    case 0:    // hop-by-hop
    case 43:   // routing
    case 44:   // fragment
    case 51:   // authentication header
    case 60:   // destination options
    case 135:  // mobility
    case 139:  // HIP
    case 140:  // shim6
      return true;
    default:
      return false;
  }
}

// Walks IPv6 extension headers starting at `off` (bounded by `limit`). On success
// leaves *next at the upper-layer protocol and *off at its header.
enum class ExtWalk { kDone, kTruncated, kMalformed };
ExtWalk WalkIpv6Extensions(const uint8_t* data, size_t limit, size_t* off, uint8_t* next, uint8_t* count,
                           bool* later_fragment, bool* more_fragments, uint32_t* frag_id) {
  for (int i = 0; IsIpv6Extension(*next); ++i) {
    if (i == kMaxIpv6Extensions) return ExtWalk::kMalformed;
    if (limit - *off < 8) return ExtWalk::kTruncated;
    const uint8_t* h = data + *off;
    size_t len;
    if (*next == 44) {
      len = 8;
      if (frag_id) *frag_id = LoadBe32(h + 4);
      const uint16_t fo = LoadBe16(h + 2);
      if ((fo >> 3) != 0) *later_fragment = true;
      if (fo & 1) *more_fragments = true;
    } else if (*next == 51) {
      len = (static_cast<size_t>(h[1]) + 2) * 4;
    } else {
      len = (static_cast<size_t>(h[1]) + 1) * 8;
    }
    if (limit - *off < len) return ExtWalk::kTruncated;
    *next = h[0];
    *off += len;
    ++*count;
    if (*later_fragment) break;  // what follows is the middle of a datagram
  }
  return ExtWalk::kDone;
}

IcmpMeaning MeaningV4(uint8_t type, uint8_t code) {
  switch (type) {
    case 3:
      switch (code) {
        case 0: return IcmpMeaning::kNetUnreachable;
        case 1: return IcmpMeaning::kHostUnreachable;
        case 2: return IcmpMeaning::kProtocolUnreachable;
        case 3: return IcmpMeaning::kPortUnreachable;
        case 4: return IcmpMeaning::kFragmentationNeeded;
        case 9: case 10: case 13: return IcmpMeaning::kAdminProhibited;
        default: return IcmpMeaning::kOtherUnreachable;
      }
    case 4: return IcmpMeaning::kSourceQuench;
    case 5: return IcmpMeaning::kRedirect;
    case 11: return IcmpMeaning::kTimeExceeded;
    case 12: return IcmpMeaning::kParameterProblem;
    default: return IcmpMeaning::kNone;
  }
}

IcmpMeaning MeaningV6(uint8_t type, uint8_t code) {
  switch (type) {
    case 1:
      switch (code) {
        case 0: return IcmpMeaning::kNetUnreachable;
        case 1: case 5: case 6: return IcmpMeaning::kAdminProhibited;
        case 3: return IcmpMeaning::kHostUnreachable;
        case 4: return IcmpMeaning::kPortUnreachable;
        default: return IcmpMeaning::kOtherUnreachable;
      }
    case 2: return IcmpMeaning::kFragmentationNeeded;
    case 3: return IcmpMeaning::kTimeExceeded;
    case 4: return IcmpMeaning::kParameterProblem;
    default: return IcmpMeaning::kNone;
  }
}

// The header an ICMP error quotes. RFC 792/4443 promise the IP header and at least
// 8 bytes after it; anything less than the IP header is a truncated error.
ParseError ParseQuoted(const uint8_t* data, size_t limit, size_t off, ParsedPacket* out) {
  QuotedProbe& q = out->quoted;
  q = QuotedProbe{};
  if (off >= limit) return Fail(out, ParseError::kTruncated, Layer::kQuoted, off);
  const uint8_t version = data[off] >> 4;
  uint8_t next;
  size_t l4;
  if (version == 4) {
    if (limit - off < kIpv4HeaderLen) return Fail(out, ParseError::kTruncated, Layer::kQuoted, off);
    const uint8_t* h = data + off;
    const size_t ihl = static_cast<size_t>(h[0] & 0x0f) * 4;
    if (ihl < kIpv4HeaderLen) return Fail(out, ParseError::kMalformed, Layer::kQuoted, off);
    if (limit - off < ihl) return Fail(out, ParseError::kTruncated, Layer::kQuoted, off);
    q.family = 4;
    q.ttl = h[8];
    q.ip_id = LoadBe16(h + 4);
    next = h[9];
    std::memcpy(q.src, h + 12, 4);
    std::memcpy(q.dst, h + 16, 4);
    l4 = off + ihl;
    if ((LoadBe16(h + 6) & 0x1fff) != 0) {  // a later fragment quotes no L4 header
      q.present = true;
      out->has_quoted = true;
      q.proto = next;
      return ParseError::kNone;
    }
  } else if (version == 6) {
    if (limit - off < kIpv6HeaderLen) return Fail(out, ParseError::kTruncated, Layer::kQuoted, off);
    const uint8_t* h = data + off;
    q.family = 6;
    q.ttl = h[7];
    next = h[6];
    std::memcpy(q.src, h + 8, 16);
    std::memcpy(q.dst, h + 24, 16);
    l4 = off + kIpv6HeaderLen;
    uint8_t count = 0;
    bool later = false, more = false;
    // A quote may cut an extension header short; then there are just no ports.
    if (WalkIpv6Extensions(data, limit, &l4, &next, &count, &later, &more, nullptr) != ExtWalk::kDone || later) {
      q.present = true;
      out->has_quoted = true;
      q.proto = next;
      return ParseError::kNone;
    }
  } else {
    return Fail(out, ParseError::kMalformed, Layer::kQuoted, off);
  }
  q.present = true;
  out->has_quoted = true;
  q.proto = next;
  const size_t avail = limit > l4 ? limit - l4 : 0;
  const uint8_t* t = data + l4;
  if ((next == kProtoTcp || next == kProtoUdp) && avail >= 4) {
    q.has_ports = true;
    q.src_port = LoadBe16(t);
    q.dst_port = LoadBe16(t + 2);
    if (next == kProtoTcp && avail >= 8) {
      q.has_seq = true;
      q.seq = LoadBe32(t + 4);
    }
  } else if ((next == kProtoIcmp || next == kProtoIcmp6) && avail >= 8) {
    q.has_echo = true;
    q.echo_id = LoadBe16(t + 4);
    q.echo_seq = LoadBe16(t + 6);
  }
  return ParseError::kNone;
}

// Checksum of an L4 segment whose every byte was captured.
ChecksumStatus VerifyL4(const uint8_t* data, const ParsedPacket* out, size_t l4, size_t seg_len, uint8_t proto, bool pseudo) {
  uint64_t acc = 0;
  if (pseudo) {
    acc = out->family == 4 ? PseudoHeaderSum4(out->src, out->dst, proto, static_cast<uint32_t>(seg_len))
                           : PseudoHeaderSum6(out->src, out->dst, proto, static_cast<uint32_t>(seg_len));
  }
  acc = SumBytes(data + l4, seg_len, acc);
  const uint16_t folded = FoldSum(acc);
  return folded == 0xffff ? ChecksumStatus::kOk : ChecksumStatus::kBad;
}

void ParseTcpOptions(const uint8_t* o, size_t len, ParsedPacket* out) {
  size_t i = 0;
  while (i < len && out->option_count < kMaxTcpOptions) {
    const uint8_t kind = o[i];
    out->option_kinds[out->option_count++] = kind;
    if (kind == 0) break;  // end of option list
    if (kind == 1) {
      ++i;
      continue;
    }
    if (len - i < 2 || o[i + 1] < 2 || o[i + 1] > len - i) {
      out->options_malformed = true;
      break;
    }
    const uint8_t olen = o[i + 1];
    const uint8_t* v = o + i + 2;
    switch (kind) {
      case 2:
        if (olen == 4) out->mss = LoadBe16(v);
        break;
      case 3:
        if (olen == 3) out->window_scale = v[0];
        break;
      case 4:
        if (olen == 2) out->sack_permitted = true;
        break;
      case 8:
        if (olen == 10) {
          out->has_timestamps = true;
          out->tsval = LoadBe32(v);
          out->tsecr = LoadBe32(v + 4);
        }
        break;
      default:
        break;
    }
    i += olen;
  }
}

// `limit`: end of the bytes that belong to this datagram and were captured.
// `complete`: every byte of the datagram was captured, so checksums can be verified.
ParseError ParseL4(const uint8_t* data, size_t limit, size_t off, bool complete, const ParseOptions& opt, ParsedPacket* out) {
  out->l4_offset = static_cast<uint32_t>(off);
  const size_t avail = limit - off;
  const uint8_t* h = data + off;
  const bool verify = opt.verify_checksums && !opt.checksum_not_ready && complete;
  const ChecksumStatus unverified = opt.checksum_not_ready ? ChecksumStatus::kPartial : ChecksumStatus::kNotChecked;
  switch (out->proto) {
    case kProtoTcp: {
      if (avail < kTcpHeaderLen) return Fail(out, ParseError::kTruncated, Layer::kTcp, off);
      const size_t doff = static_cast<size_t>(h[12] >> 4) * 4;
      if (doff < kTcpHeaderLen) return Fail(out, ParseError::kMalformed, Layer::kTcp, off);
      if (avail < doff) return Fail(out, ParseError::kTruncated, Layer::kTcp, off);
      out->src_port = LoadBe16(h);
      out->dst_port = LoadBe16(h + 2);
      out->seq = LoadBe32(h + 4);
      out->ack = LoadBe32(h + 8);
      out->tcp_flags = h[13];
      out->window = LoadBe16(h + 14);
      out->urgent = LoadBe16(h + 18);
      ParseTcpOptions(h + kTcpHeaderLen, doff - kTcpHeaderLen, out);
      out->payload_offset = static_cast<uint32_t>(off + doff);
      out->payload_len = static_cast<uint32_t>(avail - doff);
      out->l4_checksum = verify ? VerifyL4(data, out, off, avail, kProtoTcp, true) : unverified;
      return ParseError::kNone;
    }
    case kProtoUdp: {
      if (avail < kUdpHeaderLen) return Fail(out, ParseError::kTruncated, Layer::kUdp, off);
      out->src_port = LoadBe16(h);
      out->dst_port = LoadBe16(h + 2);
      out->udp_len = LoadBe16(h + 4);
      if (out->udp_len < kUdpHeaderLen) return Fail(out, ParseError::kMalformed, Layer::kUdp, off);
      const size_t seg = out->udp_len < avail ? out->udp_len : avail;
      out->payload_offset = static_cast<uint32_t>(off + kUdpHeaderLen);
      out->payload_len = static_cast<uint32_t>(seg - kUdpHeaderLen);
      if (out->family == 4 && LoadBe16(h + 6) == 0) {
        out->l4_checksum = ChecksumStatus::kAbsent;
      } else if (verify && out->udp_len <= avail) {
        out->l4_checksum = VerifyL4(data, out, off, out->udp_len, kProtoUdp, true);
      } else {
        out->l4_checksum = unverified;
      }
      return ParseError::kNone;
    }
    case kProtoIcmp:
    case kProtoIcmp6: {
      const bool v6 = out->proto == kProtoIcmp6;
      const Layer layer = v6 ? Layer::kIcmp6 : Layer::kIcmp;
      if (avail < 4) return Fail(out, ParseError::kTruncated, layer, off);
      if (v6 != (out->family == 6)) {
        // ICMPv4 in IPv6 or ICMPv6 in IPv4: nothing below means what it says.
        return Fail(out, ParseError::kMalformed, layer, off);
      }
      const uint8_t type = h[0];
      const uint8_t code = h[1];
      out->icmp_type = type;
      out->icmp_code = code;
      out->payload_offset = static_cast<uint32_t>(off + (avail >= 8 ? 8 : avail));
      out->payload_len = static_cast<uint32_t>(limit - out->payload_offset);
      out->l4_checksum = verify ? VerifyL4(data, out, off, avail, out->proto, v6) : unverified;
      out->icmp_meaning = v6 ? MeaningV6(type, code) : MeaningV4(type, code);
      const bool is_error = out->icmp_meaning != IcmpMeaning::kNone;
      const bool is_echo = v6 ? (type == 128 || type == 129) : (type == 0 || type == 8 || type == 13 || type == 14);
      if (is_echo || is_error) {
        if (avail < 8) return Fail(out, ParseError::kTruncated, layer, off);
      }
      if (is_echo) {
        out->icmp_id = LoadBe16(h + 4);
        out->icmp_seq = LoadBe16(h + 6);
        if (!v6 && (type == 13 || type == 14)) {
          if (avail < kIcmpTimestampLen) return Fail(out, ParseError::kTruncated, layer, off);
          out->ts_originate = LoadBe32(h + 8);
          out->ts_receive = LoadBe32(h + 12);
          out->ts_transmit = LoadBe32(h + 16);
          out->payload_offset = static_cast<uint32_t>(off + kIcmpTimestampLen);
          out->payload_len = static_cast<uint32_t>(limit - out->payload_offset);
        }
        return ParseError::kNone;
      }
      if (is_error) {
        if (out->icmp_meaning == IcmpMeaning::kFragmentationNeeded) out->icmp_mtu = v6 ? LoadBe32(h + 4) : LoadBe16(h + 6);
        return ParseQuoted(data, limit, off + 8, out);
      }
      if (v6 && (type == 135 || type == 136)) {
        if (avail < 24) return Fail(out, ParseError::kTruncated, layer, off);
        out->is_ndp = true;
        std::memcpy(out->ndp_target, h + 8, 16);
        if (type == 136) {
          out->ndp_router = (h[4] & 0x80) != 0;
          out->ndp_solicited = (h[4] & 0x40) != 0;
          out->ndp_override = (h[4] & 0x20) != 0;
        }
        const uint8_t wanted = type == 135 ? 1 : 2;  // source / target link-layer address
        size_t i = 24;
        while (avail - i >= 2) {
          const size_t olen = static_cast<size_t>(h[i + 1]) * 8;
          if (olen == 0) return Fail(out, ParseError::kMalformed, layer, off + i);  // RFC 4861 §4.6
          if (avail - i < olen) return Fail(out, ParseError::kTruncated, layer, off + i);
          if (h[i] == wanted && olen == 8) {
            out->has_ndp_mac = true;
            std::memcpy(out->ndp_mac, h + i + 2, 6);
          }
          i += olen;
        }
      }
      return ParseError::kNone;
    }
    default:
      out->payload_offset = static_cast<uint32_t>(off);
      out->payload_len = static_cast<uint32_t>(avail);
      return ParseError::kNone;
  }
}

ParseError ParseIpv4(const uint8_t* data, size_t len, size_t off, const ParseOptions& opt, ParsedPacket* out) {
  if (len - off < kIpv4HeaderLen) return Fail(out, ParseError::kTruncated, Layer::kIp, off);
  const uint8_t* h = data + off;
  if ((h[0] >> 4) != 4) return Fail(out, ParseError::kMalformed, Layer::kIp, off);
  const size_t ihl = static_cast<size_t>(h[0] & 0x0f) * 4;
  const size_t total = LoadBe16(h + 2);
  if (ihl < kIpv4HeaderLen || total < ihl) return Fail(out, ParseError::kMalformed, Layer::kIp, off);
  if (len - off < ihl) return Fail(out, ParseError::kTruncated, Layer::kIp, off);
  out->family = 4;
  out->l3_offset = static_cast<uint32_t>(off);
  out->tos = h[1];
  out->ip_len = static_cast<uint32_t>(total);
  out->ip_id = LoadBe16(h + 4);
  const uint16_t frag = LoadBe16(h + 6);
  out->dont_fragment = (frag & 0x4000) != 0;
  const bool more_fragments = (frag & 0x2000) != 0;
  out->fragment = (frag & 0x1fff) != 0;
  out->ttl = h[8];
  out->proto = h[9];
  std::memcpy(out->src, h + 12, 4);
  std::memcpy(out->dst, h + 16, 4);
  out->ip_checksum = FoldSum(SumBytes(h, ihl)) == 0xffff ? ChecksumStatus::kOk : ChecksumStatus::kBad;
  // Trailing bytes past the IP length are link padding; a shorter capture is a snaplen cut.
  const bool complete = len - off >= total;
  const size_t limit = complete ? off + total : len;
  if (out->fragment) return ParseError::kNone;
  return ParseL4(data, limit, off + ihl, complete && !more_fragments, opt, out);
}

ParseError ParseIpv6(const uint8_t* data, size_t len, size_t off, const ParseOptions& opt, ParsedPacket* out) {
  if (len - off < kIpv6HeaderLen) return Fail(out, ParseError::kTruncated, Layer::kIp, off);
  const uint8_t* h = data + off;
  if ((h[0] >> 4) != 6) return Fail(out, ParseError::kMalformed, Layer::kIp, off);
  out->family = 6;
  out->l3_offset = static_cast<uint32_t>(off);
  const uint32_t first = LoadBe32(h);
  out->tos = static_cast<uint8_t>(first >> 20);
  out->flow_label = first & 0xfffff;
  const size_t payload = LoadBe16(h + 4);
  out->ip_len = static_cast<uint32_t>(kIpv6HeaderLen + payload);
  out->ttl = h[7];
  std::memcpy(out->src, h + 8, 16);
  std::memcpy(out->dst, h + 24, 16);
  const bool complete = len - off >= kIpv6HeaderLen + payload;
  const size_t limit = complete ? off + kIpv6HeaderLen + payload : len;
  size_t l4 = off + kIpv6HeaderLen;
  uint8_t next = h[6];
  bool later_fragment = false, more_fragments = false;
  uint32_t frag_id = 0;
  const size_t walk_start = l4;
  const ExtWalk walk = WalkIpv6Extensions(data, limit, &l4, &next, &out->ext_headers, &later_fragment, &more_fragments, &frag_id);
  out->ip_id = static_cast<uint16_t>(frag_id);
  out->proto = next;
  if (walk == ExtWalk::kTruncated) return Fail(out, ParseError::kTruncated, Layer::kIpExtension, l4);
  if (walk == ExtWalk::kMalformed) return Fail(out, ParseError::kMalformed, Layer::kIpExtension, walk_start);
  out->fragment = later_fragment;
  if (later_fragment || next == 59) return ParseError::kNone;  // 59: no next header
  // A first fragment (fragment header present, offset 0) has its L4 header but not the whole segment.
  return ParseL4(data, limit, l4, complete && !more_fragments, opt, out);
}

ParseError ParseArp(const uint8_t* data, size_t len, size_t off, ParsedPacket* out) {
  if (len - off < kArpLen) return Fail(out, ParseError::kTruncated, Layer::kArp, off);
  const uint8_t* a = data + off;
  if (LoadBe16(a) != 1 || LoadBe16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
    return Fail(out, ParseError::kUnsupported, Layer::kArp, off);  // ARP for something other than IPv4 over Ethernet
  }
  out->is_arp = true;
  out->arp_op = LoadBe16(a + 6);
  std::memcpy(out->arp_sender_mac, a + 8, 6);
  std::memcpy(out->arp_sender_ip, a + 14, 4);
  std::memcpy(out->arp_target_mac, a + 18, 6);
  std::memcpy(out->arp_target_ip, a + 24, 4);
  return ParseError::kNone;
}

// Zeroes the scalar head of ParsedPacket with plain 16-byte stores: compilers turn a
// memset of this size into `rep stos`, whose start-up cost was half of a parse.
inline void ResetHead(ParsedPacket* out) {
  constexpr size_t kHead = offsetof(ParsedPacket, reset_boundary);
  constexpr size_t kChunks = (kHead + 15) / 16;
  static_assert(kChunks * 16 <= sizeof(ParsedPacket), "head reset would run past the struct");
  alignas(16) static constexpr uint8_t kZero[16] = {};
  auto* p = reinterpret_cast<uint8_t*>(out);
#pragma GCC unroll 16
  for (size_t i = 0; i < kChunks; ++i) __builtin_memcpy(p + i * 16, kZero, 16);
}

}  // namespace

bool LinkTypeFromDlt(uint32_t dlt, LinkType* out) {
  switch (dlt) {
    case 1: *out = LinkType::kEthernet; return true;
    case 113: *out = LinkType::kLinuxSll; return true;
    case 276: *out = LinkType::kLinuxSll2; return true;
    case 12: case 14: case 101: case 228: case 229: *out = LinkType::kRaw; return true;
    default: return false;
  }
}

ParseError ParsePacket(const uint8_t* data, size_t len, const ParseOptions& opt, ParsedPacket* out) {
  ResetHead(out);
  out->window_scale = -1;
  out->captured_len = static_cast<uint32_t>(len);
  if (data == nullptr) len = 0;
  size_t off = 0;
  uint16_t ethertype = 0;
  switch (opt.link) {
    case LinkType::kEthernet: {
      if (len < kEthernetHeaderLen) return Fail(out, ParseError::kTruncated, Layer::kLink, 0);
      out->has_mac = true;
      std::memcpy(out->dst_mac, data, 6);
      std::memcpy(out->src_mac, data + 6, 6);
      ethertype = LoadBe16(data + 12);
      off = kEthernetHeaderLen;
      while ((ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100) && out->vlan_count < kMaxVlanTags) {
        if (len - off < 4) return Fail(out, ParseError::kTruncated, Layer::kLink, off);
        if (out->vlan_count == 0) out->vlan_id = LoadBe16(data + off) & 0x0fff;
        ethertype = LoadBe16(data + off + 2);
        off += 4;
        ++out->vlan_count;
      }
      break;
    }
    case LinkType::kLinuxSll:
      if (len < kSllHeaderLen) return Fail(out, ParseError::kTruncated, Layer::kLink, 0);
      if (LoadBe16(data + 2) == 1 && LoadBe16(data + 4) == 6) {  // ARPHRD_ETHER: the sender's MAC
        std::memcpy(out->src_mac, data + 6, 6);
        out->has_src_mac = true;
      }
      ethertype = LoadBe16(data + 14);
      off = kSllHeaderLen;
      break;
    case LinkType::kLinuxSll2:
      if (len < kSll2HeaderLen) return Fail(out, ParseError::kTruncated, Layer::kLink, 0);
      if (LoadBe16(data + 8) == 1 && data[11] == 6) {
        std::memcpy(out->src_mac, data + 12, 6);
        out->has_src_mac = true;
      }
      ethertype = LoadBe16(data);
      off = kSll2HeaderLen;
      break;
    case LinkType::kRaw:
      if (len < 1) return Fail(out, ParseError::kTruncated, Layer::kIp, 0);
      if ((data[0] >> 4) == 4) ethertype = kEtherTypeIpv4;
      else if ((data[0] >> 4) == 6) ethertype = kEtherTypeIpv6;
      else return Fail(out, ParseError::kMalformed, Layer::kIp, 0);
      break;
  }
  out->ethertype = ethertype;
  switch (ethertype) {
    case kEtherTypeIpv4: return ParseIpv4(data, len, off, opt, out);
    case kEtherTypeIpv6: return ParseIpv6(data, len, off, opt, out);
    case kEtherTypeArp: return ParseArp(data, len, off, out);
    default: return Fail(out, ParseError::kUnsupported, Layer::kLink, off);
  }
}

uint32_t TcpOptionSignature(const ParsedPacket& p) {
  uint32_t sig = 0;
  const uint8_t n = p.option_count < 8 ? p.option_count : 8;
  for (uint8_t i = 0; i < n; ++i) {
    const uint8_t k = p.option_kinds[i];
    const uint32_t code = k <= 13 ? k + 1u : 15u;
    sig |= code << (4 * i);
  }
  return sig;
}

const char* ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kNone: return "none";
    case ParseError::kTruncated: return "truncated";
    case ParseError::kMalformed: return "malformed";
    case ParseError::kUnsupported: return "unsupported";
  }
  return "unknown";
}

const char* LayerName(Layer l) {
  switch (l) {
    case Layer::kNone: return "none";
    case Layer::kLink: return "link";
    case Layer::kArp: return "arp";
    case Layer::kIp: return "ip";
    case Layer::kIpExtension: return "ipv6-extension";
    case Layer::kTcp: return "tcp";
    case Layer::kUdp: return "udp";
    case Layer::kIcmp: return "icmp";
    case Layer::kIcmp6: return "icmpv6";
    case Layer::kQuoted: return "icmp-quoted-header";
  }
  return "unknown";
}

const char* ChecksumStatusName(ChecksumStatus s) {
  switch (s) {
    case ChecksumStatus::kNotChecked: return "not-checked";
    case ChecksumStatus::kOk: return "ok";
    case ChecksumStatus::kBad: return "bad";
    case ChecksumStatus::kPartial: return "partial";
    case ChecksumStatus::kAbsent: return "absent";
  }
  return "unknown";
}

const char* IcmpMeaningName(IcmpMeaning m) {
  switch (m) {
    case IcmpMeaning::kNone: return "none";
    case IcmpMeaning::kNetUnreachable: return "net-unreachable";
    case IcmpMeaning::kHostUnreachable: return "host-unreachable";
    case IcmpMeaning::kProtocolUnreachable: return "protocol-unreachable";
    case IcmpMeaning::kPortUnreachable: return "port-unreachable";
    case IcmpMeaning::kAdminProhibited: return "admin-prohibited";
    case IcmpMeaning::kFragmentationNeeded: return "fragmentation-needed";
    case IcmpMeaning::kTimeExceeded: return "time-exceeded";
    case IcmpMeaning::kParameterProblem: return "parameter-problem";
    case IcmpMeaning::kOtherUnreachable: return "other-unreachable";
    case IcmpMeaning::kRedirect: return "redirect";
    case IcmpMeaning::kSourceQuench: return "source-quench";
  }
  return "unknown";
}

}  // namespace portflow
