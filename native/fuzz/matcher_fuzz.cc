// libFuzzer target for the capture's reply path (io::ReplyMatcher::Process: parse, cookie
// check, duplicate table, record writing, the quoted-probe TSval walk). Any frame off the
// wire goes through it, so no input may read outside the frame or abort.
//
// Selector byte (the rest is the frame): bits 0-1 link (3 raw IP, else Ethernet, as
// parser_fuzz.cc), bits 2-3 mode (0 tcp-syn, 1 udp, 2-3 discovery), bit 4 "the device
// verified the checksum", bit 5 "make it ours": our addresses become the frame's
// destination, every port is ours and the cookie fields (TCP ack/seq, UDP port, echo id/seq,
// quoted TCP seq) are rewritten to match, so the fuzzer reaches the record-writing code
// instead of stopping at a cookie it cannot guess.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/bytes.h"
#include "io/capture.h"
#include "io/cookie.h"
#include "parser/parser.h"

using namespace portflow;
using namespace portflow::io;

namespace {

constexpr CookieKey kKey{0x0123456789abcdefULL, 0xfedcba9876543210ULL};

void Put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  if (at + 2 <= f.size()) StoreBe16(f.data() + at, v);
}
void Put32(std::vector<uint8_t>& f, size_t at, uint32_t v) {
  if (at + 4 <= f.size()) StoreBe32(f.data() + at, v);
}

// Rewrites the cookie-carrying fields of `f` so the matcher accepts it (see the header).
void MakeOurs(std::vector<uint8_t>& f, const ParsedPacket& p, CaptureConfig* c) {
  if (p.family == 4) {
    c->src_v4.family = 4;
    std::memcpy(c->src_v4.bytes, p.dst, 4);
  } else if (p.family == 6) {
    c->src_v6.family = 6;
    std::memcpy(c->src_v6.bytes, p.dst, 16);
  }
  const uint8_t* ours = p.family == 6 ? c->src_v6.bytes : c->src_v4.bytes;
  if (p.proto == kProtoTcp && !p.fragment) {
    const uint32_t cookie = Cookie(kKey, Flow{p.family, kProtoTcp, p.dst_port, p.src_port, ours, p.src});
    Put32(f, p.l4_offset + 4, cookie);      // seq (a bare RST to an ACK probe)
    Put32(f, p.l4_offset + 8, cookie + 1);  // ack (SYN-ACK, RST-ACK)
  } else if (p.proto == kProtoUdp && !p.fragment) {
    const uint32_t cookie = Cookie(kKey, Flow{p.family, kProtoUdp, 0, p.src_port, ours, p.src});
    Put16(f, p.l4_offset + 2, static_cast<uint16_t>(c->port_first + cookie % c->port_count));
  } else if ((p.proto == kProtoIcmp || p.proto == kProtoIcmp6) && !p.has_quoted) {
    const uint8_t type = p.family == 6 ? 128 : (p.icmp_type == 14 ? 13 : 8);
    const uint32_t cookie = Cookie(kKey, Flow{p.family, p.proto, 0, type, ours, p.src});
    Put32(f, p.l4_offset + 4, cookie);
  } else if (p.has_quoted && p.quoted.proto == kProtoTcp && p.payload_offset < f.size()) {
    const QuotedProbe& q = p.quoted;
    const size_t l4 = p.payload_offset + (q.family == 4 ? static_cast<size_t>(f[p.payload_offset] & 0x0f) * 4 : 40);
    Put32(f, l4 + 4, Cookie(kKey, Flow{q.family, kProtoTcp, q.src_port, q.dst_port, q.src, q.dst}));
    if (q.family == 4) {
      c->src_v4.family = 4;
      std::memcpy(c->src_v4.bytes, q.src, 4);
    } else {
      c->src_v6.family = 6;
      std::memcpy(c->src_v6.bytes, q.src, 16);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  CaptureConfig c;
  c.interface = "fuzz0";
  c.ethernet = (sel & 3) != 3;
  c.mode = static_cast<uint8_t>(((sel >> 2) & 3) > 2 ? 2 : (sel >> 2) & 3);
  c.key = kKey;
  c.recent_flows = 16;
  c.src_v4.family = 4;
  const uint8_t v4[4] = {10, 0, 0, 1};
  std::memcpy(c.src_v4.bytes, v4, 4);
  c.port_first = 61000;
  c.port_count = 4536;
  const bool device_checked = (sel & 16) != 0;
  // An exact-size heap copy, so ASan sees any read past the frame.
  std::vector<uint8_t> frame(data + 1, data + size);
  bool not_ready = false;
  if (sel & 32) {
    c.port_first = 1;
    c.port_count = 65535;
    ParseOptions opt;
    opt.link = c.ethernet ? LinkType::kEthernet : LinkType::kRaw;
    opt.verify_checksums = false;
    ParsedPacket p;
    if (ParsePacket(frame.data(), frame.size(), opt, &p) == ParseError::kNone && p.family != 0) MakeOurs(frame, p, &c);
    not_ready = true;  // the rewrite broke the L4 checksum; a partial one is accepted
  }
  RecordRing replies(64);
  SpscRing<AnsweredProbe> answered(64);
  CaptureCounters counters;
  ReplyMatcher m(c, &replies, &answered, &counters);
  // Twice: the second is the duplicate path.
  for (int i = 0; i < 2; ++i) m.Process(frame.data(), frame.size(), not_ready, device_checked, 1e12);
  const uint64_t received = counters.received.load(), sorted = counters.matched.load() + counters.duplicates.load() +
                                                               counters.strays.load() + counters.parse_errors.load();
  if (received != 2 || sorted != 2) abort();  // every frame is counted exactly once
  if (counters.matched.load() > 1) abort();   // the second copy is a duplicate
  return 0;
}
