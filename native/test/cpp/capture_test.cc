// The capture thread's parts (io/): the BPF filter over the committed fixtures (run with
// libpcap's bpf_filter, an independent interpreter) against a reference written over the
// parser's view of each packet; cookie validation and record writing over crafted replies;
// the recent-flow table; softnet_stat parsing. As root, also real captures on the loopback of
// a private network namespace (unshared by this process, gone when it exits): kernel replies
// to raw SYN / UDP probes, and a start/stop loop under AddressSanitizer.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/bpf.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "common/bytes.h"
#include "io/bpf.h"
#include "io/capture.h"
#include "io/cookie.h"
#include "io/recent_flows.h"
#include "io/softnet.h"
#include "packet/checksum.h"
#include "packet/templates.h"
#include "parser/parser.h"
#include "pcap_reader.h"

using namespace portflow;
using namespace portflow::io;

static std::string g_fixtures;

static IpAddress Ip(const char* text) {
  IpAddress a;
  if (inet_pton(AF_INET, text, a.bytes) == 1) {
    a.family = 4;
  } else if (inet_pton(AF_INET6, text, a.bytes) == 1) {
    a.family = 6;
  } else {
    std::fprintf(stderr, "bad test address %s\n", text);
    std::abort();
  }
  return a;
}

// ------------------------------------------------------------ the BPF filter

static bool RunFilter(const std::vector<sock_filter>& prog, const std::vector<uint8_t>& pkt) {
  static_assert(sizeof(sock_filter) == sizeof(bpf_insn));
  return bpf_filter(reinterpret_cast<const bpf_insn*>(prog.data()), pkt.data(), static_cast<u_int>(pkt.size()),
                    static_cast<u_int>(pkt.size())) != 0;
}

// What the filter must accept, decided from the parser's fields (an independent statement of bpf.h's rules).
static bool Expected(const ParsedPacket& p, const FilterSpec& s) {
  const bool v4 = s.src_v4.family == 4, v6 = s.src_v6.family == 6, disc = s.mode == kModeDiscovery;
  const uint8_t l4 = s.mode == kModeUdp ? kProtoUdp : kProtoTcp;
  auto in_range = [&](uint16_t port) { return s.port_count && port >= s.port_first && port < s.port_first + s.port_count; };
  if (p.is_arp) return disc && v4 && s.ethernet && p.arp_op == 2 && std::memcmp(p.arp_target_ip, s.src_v4.bytes, 4) == 0;
  if (p.family == 4) {
    if (!v4 || std::memcmp(p.dst, s.src_v4.bytes, 4) != 0 || p.fragment) return false;
    if (p.proto == l4) return in_range(p.dst_port);
    if (p.proto != kProtoIcmp) return false;
    const uint8_t t = p.icmp_type;
    return t == 3 || t == 11 || t == 12 || (disc && (t == 0 || t == 14));
  }
  if (p.family == 6) {
    if (!v6 || std::memcmp(p.dst, s.src_v6.bytes, 16) != 0 || p.ext_headers != 0) return false;
    if (p.proto == l4) return in_range(p.dst_port);
    if (p.proto != kProtoIcmp6) return false;
    const uint8_t t = p.icmp_type;
    return (t >= 1 && t <= 4) || (disc && (t == 129 || t == 136));
  }
  return false;
}

struct FilterTally {
  int accepted = 0, rejected = 0, mismatches = 0;
};

static void CheckFilterOver(const PcapFile& f, const FilterSpec& spec, FilterTally* tally) {
  const auto prog = CompileCaptureFilter(spec);
  for (const auto& frame : f.frames) {
    ParsedPacket p;
    ParseOptions opt;
    opt.verify_checksums = false;
    if (ParsePacket(frame.data(), frame.size(), opt, &p) != ParseError::kNone) continue;
    std::vector<uint8_t> pkt = frame;
    if (!spec.ethernet) {  // the same packet as a raw-IP (tun) capture delivers it
      if (p.is_arp) continue;
      pkt.erase(pkt.begin(), pkt.begin() + p.l3_offset);
    }
    const bool want = Expected(p, spec);
    const bool got = RunFilter(prog, pkt);
    if (want != got) {
      ++tally->mismatches;
      std::fprintf(stderr, "    filter mismatch (mode %u, ethernet %d): family %u proto %u type %u dport %u: want %d got %d\n", spec.mode,
                   spec.ethernet, p.family, p.proto, p.icmp_type, p.dst_port, want, got);
    }
    ++(got ? tally->accepted : tally->rejected);
  }
}

TEST(filter_agrees_with_reference_over_fixtures) {
  PcapFile veth, lo;
  CHECK(ReadPcap(g_fixtures + "/veth-ethernet.pcap", &veth));
  CHECK(ReadPcap(g_fixtures + "/lo-partial-checksums.pcap", &lo));
  FilterTally t;
  for (uint8_t mode : {kModeTcpSyn, kModeUdp, kModeDiscovery}) {
    for (bool eth : {true, false}) {
      for (auto [first, count] : {std::pair<uint16_t, uint16_t>{32768, 28232}, {1, 65535}, {39408, 1}, {50000, 0}}) {
        if (count == 0 && mode != kModeDiscovery) continue;
        FilterSpec s{eth, Ip("10.201.0.1"), Ip("fd00:201::1"), first, count, mode};
        CheckFilterOver(veth, s, &t);
        FilterSpec v4only{eth, Ip("10.201.0.1"), IpAddress{}, first, count, mode};
        CheckFilterOver(veth, v4only, &t);
        FilterSpec v6only{eth, IpAddress{}, Ip("fd00:201::1"), first, count, mode};
        CheckFilterOver(veth, v6only, &t);
        FilterSpec loop{eth, Ip("127.0.0.1"), IpAddress{}, first, count, mode};
        CheckFilterOver(lo, loop, &t);
      }
    }
  }
  CHECK_EQ(t.mismatches, 0);
  CHECK(t.accepted > 100);
  CHECK(t.rejected > 1000);
}

TEST(filter_accepts_exactly_the_replies_in_the_veth_capture) {
  PcapFile veth;
  CHECK(ReadPcap(g_fixtures + "/veth-ethernet.pcap", &veth));
  // tcp-syn over the ephemeral range: SYN-ACKs, RSTs, the 8080 data segments to the client
  // port, and the ICMP errors to 10.201.0.1 / fd00:201::1; never the requests we sent.
  FilterSpec s{true, Ip("10.201.0.1"), Ip("fd00:201::1"), 32768, 28232, kModeTcpSyn};
  const auto prog = CompileCaptureFilter(s);
  int syn_ack = 0, rst = 0, icmp_err = 0, outgoing = 0, echo = 0, arp = 0;
  for (const auto& fr : veth.frames) {
    ParsedPacket p;
    ParseOptions opt;
    if (ParsePacket(fr.data(), fr.size(), opt, &p) != ParseError::kNone) continue;
    const bool got = RunFilter(prog, fr);
    if (p.family && std::memcmp(p.src, s.src_v4.bytes, 4) == 0 && p.family == 4) outgoing += got;
    if (p.proto == kProtoTcp && (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == (tcp_flag::kSyn | tcp_flag::kAck)) syn_ack += got;
    if (p.proto == kProtoTcp && (p.tcp_flags & tcp_flag::kRst)) rst += got;
    if (p.has_quoted) icmp_err += got;
    if ((p.proto == kProtoIcmp && p.icmp_type == 0) || (p.proto == kProtoIcmp6 && p.icmp_type == 129)) echo += got;
    if (p.is_arp) arp += got;
  }
  CHECK_EQ(syn_ack, 2);
  CHECK_EQ(rst, 2);
  CHECK_EQ(icmp_err, 6);  // admin-prohibited TCP/UDP and port unreachable, both families
  CHECK_EQ(outgoing, 0);
  CHECK_EQ(echo, 0);  // discovery only
  CHECK_EQ(arp, 0);
  FilterSpec d = s;
  d.mode = kModeDiscovery;
  const auto dprog = CompileCaptureFilter(d);
  echo = arp = 0;
  int na = 0;
  for (const auto& fr : veth.frames) {
    ParsedPacket p;
    ParseOptions opt;
    if (ParsePacket(fr.data(), fr.size(), opt, &p) != ParseError::kNone) continue;
    const bool got = RunFilter(dprog, fr);
    if ((p.proto == kProtoIcmp && p.icmp_type == 0) || (p.proto == kProtoIcmp6 && p.icmp_type == 129)) echo += got;
    if (p.is_arp) arp += got;
    if (p.is_ndp && p.icmp_type == 136) na += got;
  }
  CHECK_EQ(echo, 2);
  CHECK_EQ(arp, 1);
  CHECK_EQ(na, 1);
}

TEST(filter_rejects_impossible_specs) {
  auto throws = [](const FilterSpec& s) {
    try {
      CompileCaptureFilter(s);
    } catch (const std::invalid_argument&) {
      return true;
    }
    return false;
  };
  CHECK(throws(FilterSpec{true, IpAddress{}, IpAddress{}, 1000, 10, kModeTcpSyn}));           // no address
  CHECK(throws(FilterSpec{true, Ip("10.0.0.1"), IpAddress{}, 1000, 0, kModeTcpSyn}));         // no ports
  CHECK(throws(FilterSpec{true, Ip("10.0.0.1"), IpAddress{}, 65000, 1000, kModeUdp}));        // past 65535
  CHECK(throws(FilterSpec{true, Ip("10.0.0.1"), IpAddress{}, 1000, 10, 3}));                  // mode
  CHECK(throws(FilterSpec{true, Ip("::1"), IpAddress{}, 1000, 10, kModeTcpSyn}));             // v6 as v4
  CHECK(!throws(FilterSpec{true, Ip("10.0.0.1"), IpAddress{}, 65535, 1, kModeTcpSyn}));
  CHECK(!throws(FilterSpec{false, IpAddress{}, Ip("::1"), 0, 0, kModeDiscovery}));
}

// ------------------------------------------------------------ crafted replies

static const uint8_t kOurMac[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t kPeerMac[6] = {2, 0, 0, 0, 0, 2};

static void PrependEthernet(std::vector<uint8_t>* pkt, uint16_t ethertype) {
  uint8_t eth[14];
  std::memcpy(eth, kOurMac, 6);
  std::memcpy(eth + 6, kPeerMac, 6);
  StoreBe16(eth + 12, ethertype);
  pkt->insert(pkt->begin(), eth, eth + 14);
}

// An IP packet carrying an ICMP / ICMPv6 message: type, code, the 4 bytes after the checksum, body.
static std::vector<uint8_t> IcmpPacket(const IpAddress& src, const IpAddress& dst, uint8_t type, uint8_t code, uint32_t rest,
                                       const std::vector<uint8_t>& body, uint8_t ttl = 61) {
  const bool v6 = src.family == 6;
  const size_t ip_len = v6 ? kIpv6HeaderLen : kIpv4HeaderLen;
  const size_t icmp_len = 8 + body.size();
  std::vector<uint8_t> pkt(ip_len + icmp_len);
  uint8_t* h = pkt.data();
  if (v6) {
    h[0] = 0x60;
    StoreBe16(h + 4, static_cast<uint16_t>(icmp_len));
    h[6] = kProtoIcmp6;
    h[7] = ttl;
    std::memcpy(h + 8, src.bytes, 16);
    std::memcpy(h + 24, dst.bytes, 16);
  } else {
    h[0] = 0x45;
    StoreBe16(h + 2, static_cast<uint16_t>(pkt.size()));
    StoreBe16(h + 4, 0x1234);
    h[8] = ttl;
    h[9] = kProtoIcmp;
    std::memcpy(h + 12, src.bytes, 4);
    std::memcpy(h + 16, dst.bytes, 4);
    StoreBe16(h + 10, FoldComplement(SumBytes(h, kIpv4HeaderLen)));
  }
  uint8_t* m = h + ip_len;
  m[0] = type;
  m[1] = code;
  StoreBe32(m + 4, rest);
  if (!body.empty()) std::memcpy(m + 8, body.data(), body.size());
  const uint64_t pseudo = v6 ? PseudoHeaderSum6(src.bytes, dst.bytes, kProtoIcmp6, static_cast<uint32_t>(icmp_len)) : 0;
  StoreBe16(m + 2, FoldComplement(SumBytes(m, icmp_len, pseudo)));
  return pkt;
}

static std::vector<uint8_t> TcpPacket(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport, uint32_t seq,
                                      uint32_t ack, uint8_t flags, bool options = true) {
  IpSpec ip;
  ip.src = src;
  ip.dst = dst;
  ip.ttl = 57;
  ip.ip_id = 0x4242;
  TcpSpec tcp;
  tcp.src_port = sport;
  tcp.dst_port = dport;
  tcp.seq = seq;
  tcp.ack = ack;
  tcp.flags = flags;
  tcp.window = 65160;
  if (options) {
    tcp.mss = 1460;
    tcp.sack_permitted = true;
    tcp.timestamps = true;
    tcp.tsval = 777;
    tcp.tsecr = 123456;
    tcp.window_scale = 7;
  }
  LinkSpec link;
  std::vector<uint8_t> out(TcpPacketLen(link, ip, tcp));
  Layout layout;
  if (BuildTcp(out.data(), out.size(), link, ip, tcp, &layout) != BuildStatus::kOk) std::abort();
  return out;
}

static std::vector<uint8_t> UdpPacket(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport, size_t payload) {
  IpSpec ip;
  ip.src = src;
  ip.dst = dst;
  std::vector<uint8_t> data(payload, 0xab);
  UdpSpec udp{sport, dport, data.data(), data.size()};
  LinkSpec link;
  std::vector<uint8_t> out(UdpPacketLen(link, ip, payload));
  Layout layout;
  if (BuildUdp(out.data(), out.size(), link, ip, udp, &layout) != BuildStatus::kOk) std::abort();
  return out;
}

struct Harness {
  CaptureConfig config;
  std::shared_ptr<RecordRing> ring = std::make_shared<RecordRing>(1024);
  SpscRing<AnsweredProbe> answered{1024};
  CaptureCounters counters;
  std::unique_ptr<ReplyMatcher> matcher;

  explicit Harness(uint8_t mode, bool ethernet = false) {
    config.interface = "lo";
    config.ethernet = ethernet;
    config.src_v4 = Ip("192.0.2.1");
    config.src_v6 = Ip("2001:db8::1");
    config.port_first = 61000;
    config.port_count = 4536;
    config.mode = mode;
    config.key = CookieKey{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    config.recent_flows = 1 << 10;
    matcher = std::make_unique<ReplyMatcher>(config, ring.get(), &answered, &counters);
  }
  // Feeds one packet; publishes like the capture thread does per block.
  bool Feed(std::vector<uint8_t> pkt, bool not_ready = false) {
    if (config.ethernet) PrependEthernet(&pkt, (pkt[0] >> 4) == 6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
    const bool r = matcher->Process(pkt.data(), pkt.size(), not_ready, false, 1.7e12);
    ring->Publish();
    return r;
  }
  bool FeedFrame(const std::vector<uint8_t>& frame) {
    const bool r = matcher->Process(frame.data(), frame.size(), false, false, 1.7e12);
    ring->Publish();
    return r;
  }
  size_t records() { return ring->ring().AvailableFresh(); }
  const uint8_t* Last() { return ring->ring().Peek(ring->ring().AvailableFresh() - 1).bytes; }
  uint32_t TcpCookie(const IpAddress& ours, uint16_t our_port, const IpAddress& target, uint16_t port) const {
    return Cookie(config.key, Flow{ours.family, kProtoTcp, our_port, port, ours.bytes, target.bytes});
  }
  uint16_t UdpPort(const IpAddress& ours, const IpAddress& target, uint16_t port) const {
    return static_cast<uint16_t>(config.port_first +
                                 Cookie(config.key, Flow{ours.family, kProtoUdp, 0, port, ours.bytes, target.bytes}) % config.port_count);
  }
  uint32_t EchoCookie(const IpAddress& ours, const IpAddress& target, uint8_t probe_type) const {
    return Cookie(config.key, Flow{ours.family, ours.family == 6 ? kProtoIcmp6 : kProtoIcmp, 0, probe_type, ours.bytes, target.bytes});
  }
  uint64_t matched() const { return counters.matched.load(); }
  uint64_t strays() const { return counters.strays.load(); }
  uint64_t dups() const { return counters.duplicates.load(); }
};

TEST(syn_ack_with_the_cookie_matches_and_fills_the_record) {
  for (bool eth : {false, true}) {
    for (const char* t : {"198.51.100.7", "2001:db8::7"}) {
      Harness h(kModeTcpSyn, eth);
      const IpAddress target = Ip(t);
      const IpAddress ours = target.family == 6 ? h.config.src_v6 : h.config.src_v4;
      const uint32_t c = h.TcpCookie(ours, 61234, target, 443);
      CHECK(h.Feed(TcpPacket(target, ours, 443, 61234, 999, c + 1, tcp_flag::kSyn | tcp_flag::kAck)));
      CHECK_EQ(h.matched(), 1u);
      CHECK_EQ(h.records(), 1u);
      const uint8_t* b = h.Last();
      CHECK_EQ(b[rec::kVersion], kRecordVersion);
      CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kTcpReply));
      CHECK_EQ(b[rec::kFamily], target.family);
      CHECK(std::memcmp(b + rec::kAddr, target.bytes, target.size()) == 0);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kPort), 443);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kLocalPort), 61234);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kSeq), 999u);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kAck), c + 1);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kTsval), 777u);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kOptionSig), 0x42953u);  // M S T N W
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kEchoedSend), 123456u);
      CHECK_EQ(b[rec::kTtl], 57);
      CHECK_EQ(b[rec::kTcpFlags], tcp_flag::kSyn | tcp_flag::kAck);
      CHECK_EQ(b[rec::kWindowScale], 7);
      CHECK_EQ(b[rec::kProto], kProtoTcp);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kWindow), 65160);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kMss), 1460);
      CHECK_EQ(LoadLe<double>(b + rec::kTimeMs), 1.7e12);
      const uint8_t want_flags = record_flag::kHasTimestamps | record_flag::kHasMss | record_flag::kHasWindowScale | record_flag::kSackPermitted |
                                 (target.family == 4 ? record_flag::kDontFragment : 0);
      CHECK_EQ(b[rec::kFlags], want_flags);
      if (target.family == 4) CHECK_EQ(LoadLe<uint16_t>(b + rec::kIpId), 0x4242);
      AnsweredProbe a;
      CHECK(h.answered.TryPop(&a));
      CHECK_EQ(a.family, target.family);
      CHECK_EQ(a.proto, kProtoTcp);
      CHECK_EQ(a.src_port, 61234);
      CHECK_EQ(a.dst_port, 443);
      CHECK(std::memcmp(a.dst, target.bytes, target.size()) == 0);

      // The retransmitted SYN-ACK is a duplicate; nothing is written or pushed.
      CHECK(!h.Feed(TcpPacket(target, ours, 443, 61234, 999, c + 1, tcp_flag::kSyn | tcp_flag::kAck)));
      CHECK_EQ(h.dups(), 1u);
      CHECK_EQ(h.records(), 1u);
      CHECK(!h.answered.TryPop(&a));
      // Wrong cookie, wrong target port, wrong target address, a port outside our range: strays.
      CHECK(!h.Feed(TcpPacket(target, ours, 443, 61234, 999, c + 2, tcp_flag::kSyn | tcp_flag::kAck)));
      CHECK(!h.Feed(TcpPacket(target, ours, 444, 61234, 999, c + 1, tcp_flag::kSyn | tcp_flag::kAck)));
      IpAddress other = target;
      other.bytes[target.size() - 1] ^= 1;
      CHECK(!h.Feed(TcpPacket(other, ours, 443, 61234, 999, c + 1, tcp_flag::kSyn | tcp_flag::kAck)));
      CHECK(!h.Feed(TcpPacket(target, ours, 443, 60999, 999, h.TcpCookie(ours, 60999, target, 443) + 1, tcp_flag::kSyn | tcp_flag::kAck)));
      // A SYN (no ACK) carrying the cookie in its ack field proves nothing.
      CHECK(!h.Feed(TcpPacket(target, ours, 443, 61234, 999, c + 1, tcp_flag::kSyn)));
      CHECK_EQ(h.strays(), 5u);
      CHECK_EQ(h.matched(), 1u);
      CHECK_EQ(h.counters.received.load(), 7u);
    }
  }
}

TEST(rst_ack_and_bare_rst_match) {
  Harness h(kModeTcpSyn);
  const IpAddress target = Ip("198.51.100.9"), ours = h.config.src_v4;
  const uint32_t c = h.TcpCookie(ours, 61000, target, 81);
  CHECK(h.Feed(TcpPacket(target, ours, 81, 61000, 0, c + 1, tcp_flag::kRst | tcp_flag::kAck, false)));
  CHECK_EQ(h.Last()[rec::kTcpFlags], tcp_flag::kRst | tcp_flag::kAck);
  CHECK_EQ(LoadLe<uint32_t>(h.Last() + rec::kOptionSig), 0u);
  CHECK_EQ(h.Last()[rec::kFlags] & (record_flag::kHasMss | record_flag::kHasTimestamps), 0);
  // The reset an ACK probe gets: seq = the probe's ack field = the cookie, no ACK flag.
  const uint32_t c2 = h.TcpCookie(ours, 61001, target, 80);
  CHECK(h.Feed(TcpPacket(target, ours, 80, 61001, c2, 0, tcp_flag::kRst, false)));
  CHECK(!h.Feed(TcpPacket(target, ours, 80, 61002, c2, 0, tcp_flag::kRst, false)));
  CHECK_EQ(h.matched(), 2u);
  CHECK_EQ(h.strays(), 1u);
}

TEST(checksums_are_verified_unless_partial) {
  Harness h(kModeTcpSyn);
  const IpAddress target = Ip("198.51.100.7"), ours = h.config.src_v4;
  const uint32_t c = h.TcpCookie(ours, 61500, target, 22);
  auto pkt = TcpPacket(target, ours, 22, 61500, 5, c + 1, tcp_flag::kSyn | tcp_flag::kAck);
  pkt[kIpv4HeaderLen + 16] ^= 0x55;  // corrupt the TCP checksum
  CHECK(!h.Feed(pkt));
  CHECK_EQ(h.counters.parse_errors.load(), 1u);
  // TP_STATUS_CSUMNOTREADY: the checksum field holds only the pseudo-header sum. Accepted, flagged.
  CHECK(h.Feed(pkt, true));
  CHECK_EQ(h.Last()[rec::kFlags] & record_flag::kChecksumPartial, record_flag::kChecksumPartial);
  // Truncated frames are parse errors, never reads past the end.
  auto cut = TcpPacket(target, ours, 22, 61501, 5, 0, tcp_flag::kSyn | tcp_flag::kAck);
  cut.resize(30);
  CHECK(!h.Feed(cut));
  CHECK_EQ(h.counters.parse_errors.load(), 2u);
}

TEST(udp_reply_matches_by_destination_port) {
  for (const char* t : {"203.0.113.5", "2001:db8::53"}) {
    Harness h(kModeUdp);
    const IpAddress target = Ip(t);
    const IpAddress ours = target.family == 6 ? h.config.src_v6 : h.config.src_v4;
    const uint16_t port = h.UdpPort(ours, target, 53);
    CHECK(h.Feed(UdpPacket(target, ours, 53, port, 45)));
    const uint8_t* b = h.Last();
    CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kUdpReply));
    CHECK_EQ(LoadLe<uint16_t>(b + rec::kPort), 53);
    CHECK_EQ(LoadLe<uint16_t>(b + rec::kLocalPort), port);
    CHECK_EQ(LoadLe<uint32_t>(b + rec::kCount), 45u);
    CHECK_EQ(b[rec::kProto], kProtoUdp);
    CHECK(std::memcmp(b + rec::kAddr, target.bytes, target.size()) == 0);
    AnsweredProbe a;
    CHECK(h.answered.TryPop(&a));
    CHECK_EQ(a.src_port, port);
    CHECK_EQ(a.dst_port, 53);
    CHECK(!h.Feed(UdpPacket(target, ours, 53, port, 45)));
    CHECK_EQ(h.dups(), 1u);
    const uint16_t wrong = static_cast<uint16_t>(port == 61000 ? 61001 : port - 1);
    CHECK(!h.Feed(UdpPacket(target, ours, 53, wrong, 45)));
    CHECK(!h.Feed(UdpPacket(target, ours, 54, port, 45)) || h.UdpPort(ours, target, 54) == port);
    // TCP in a UDP scan is not ours.
    CHECK(!h.Feed(TcpPacket(target, ours, 53, port, 0, 1, tcp_flag::kRst | tcp_flag::kAck)));
    CHECK(h.strays() >= 2u);
    CHECK_EQ(h.matched(), 1u);
  }
}

TEST(icmp_errors_match_by_the_quoted_probe) {
  for (const char* t : {"198.51.100.20", "2001:db8:5::20"}) {
    const IpAddress target = Ip(t);
    const bool v6 = target.family == 6;
    const IpAddress router = Ip(v6 ? "2001:db8:ffff::1" : "192.0.2.254");
    // TCP probe quoted (as Linux quotes it: the whole SYN), admin prohibited.
    {
      Harness h(kModeTcpSyn);
      const IpAddress ours = v6 ? h.config.src_v6 : h.config.src_v4;
      const uint32_t c = h.TcpCookie(ours, 62000, target, 8081);
      const auto probe = TcpPacket(ours, target, 62000, 8081, c, 0, tcp_flag::kSyn);
      const uint8_t type = v6 ? 1 : 3, code = v6 ? 1 : 13;
      CHECK(h.Feed(IcmpPacket(router, ours, type, code, 0, probe, 250)));
      const uint8_t* b = h.Last();
      CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kIcmpError));
      CHECK_EQ(b[rec::kFamily], target.family);
      CHECK(std::memcmp(b + rec::kAddr, target.bytes, target.size()) == 0);
      CHECK(std::memcmp(b + rec::kReporter, router.bytes, router.size()) == 0);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kPort), 8081);
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kLocalPort), 62000);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kQuotedSeq), c);
      CHECK_EQ(b[rec::kIcmpType], type);
      CHECK_EQ(b[rec::kIcmpCode], code);
      CHECK_EQ(b[rec::kProto], kProtoTcp);
      CHECK_EQ(b[rec::kTtl], 250);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kEchoedSend), 777u);  // the quoted SYN's TSval: our send clock
      // The same error again: duplicate. One quoting another seq: stray.
      CHECK(!h.Feed(IcmpPacket(router, ours, type, code, 0, probe, 250)));
      CHECK_EQ(h.dups(), 1u);
      const auto forged = TcpPacket(ours, target, 62001, 8081, c, 0, tcp_flag::kSyn);
      CHECK(!h.Feed(IcmpPacket(router, ours, type, code, 0, forged, 250)));
      CHECK_EQ(h.strays(), 1u);
      // A probe that was not sent from our address.
      const auto foreign = TcpPacket(router, target, 62000, 8081, c, 0, tcp_flag::kSyn);
      CHECK(!h.Feed(IcmpPacket(router, ours, type, code, 0, foreign, 250)));
      CHECK_EQ(h.strays(), 2u);
      // Only the first 8 bytes of the TCP header quoted (RFC 792's minimum) still carry seq.
      const uint32_t c3 = h.TcpCookie(ours, 62003, target, 25);
      auto shortq = TcpPacket(ours, target, 62003, 25, c3, 0, tcp_flag::kSyn);
      shortq.resize((v6 ? kIpv6HeaderLen : kIpv4HeaderLen) + 8);
      CHECK(h.Feed(IcmpPacket(router, ours, type, code, 0, shortq, 250)));
      CHECK_EQ(LoadLe<uint32_t>(h.Last() + rec::kEchoedSend), 0u);
      CHECK_EQ(h.matched(), 2u);
    }
    // UDP probe quoted: port unreachable from the target itself.
    {
      Harness h(kModeUdp);
      const IpAddress ours = v6 ? h.config.src_v6 : h.config.src_v4;
      const uint16_t sport = h.UdpPort(ours, target, 161);
      const auto probe = UdpPacket(ours, target, sport, 161, 20);
      const uint8_t type = v6 ? 1 : 3, code = v6 ? 4 : 3;
      CHECK(h.Feed(IcmpPacket(target, ours, type, code, 0, probe)));
      CHECK_EQ(h.Last()[rec::kProto], kProtoUdp);
      CHECK_EQ(LoadLe<uint16_t>(h.Last() + rec::kLocalPort), sport);
      CHECK(std::memcmp(h.Last() + rec::kReporter, target.bytes, target.size()) == 0);
      AnsweredProbe a;
      CHECK(h.answered.TryPop(&a));
      CHECK_EQ(a.proto, kProtoUdp);
      CHECK_EQ(a.src_port, sport);
      CHECK_EQ(a.dst_port, 161);
      const auto wrong = UdpPacket(ours, target, static_cast<uint16_t>(sport == 61000 ? 61001 : sport - 1), 161, 20);
      CHECK(!h.Feed(IcmpPacket(target, ours, type, code, 0, wrong)));
      CHECK_EQ(h.strays(), 1u);
    }
  }
}

TEST(discovery_echo_timestamp_arp_and_ndp) {
  Harness h(kModeDiscovery, true);
  const IpAddress t4 = Ip("10.9.0.5"), t6 = Ip("2001:db8::5");
  const IpAddress o4 = h.config.src_v4, o6 = h.config.src_v6;
  // Echo reply (v4), payload beginning with the send clock.
  const uint32_t c = h.EchoCookie(o4, t4, 8);
  CHECK(h.Feed(IcmpPacket(t4, o4, 0, 0, c, {0x00, 0x01, 0xe2, 0x40, 9, 9, 9, 9})));
  const uint8_t* b = h.Last();
  CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kIcmpReply));
  CHECK_EQ(LoadLe<uint16_t>(b + rec::kEchoId), c >> 16);
  CHECK_EQ(LoadLe<uint16_t>(b + rec::kEchoSeq), c & 0xffff);
  CHECK_EQ(LoadLe<uint32_t>(b + rec::kEchoedSend), 123456u);
  CHECK_EQ(b[rec::kProto], kProtoIcmp);
  CHECK_EQ(b[rec::kIcmpType], 0);
  // Timestamp reply: its own cookie (probe type 13), not the echo's.
  const uint32_t ct = h.EchoCookie(o4, t4, 13);
  CHECK(h.Feed(IcmpPacket(t4, o4, 14, 0, ct, std::vector<uint8_t>(12, 0))));
  CHECK_EQ(h.Last()[rec::kIcmpType], 14);
  CHECK(!h.Feed(IcmpPacket(t4, o4, 14, 0, c, std::vector<uint8_t>(12, 0))));  // echo's cookie on a timestamp
  // ICMPv6 echo reply.
  const uint32_t c6 = h.EchoCookie(o6, t6, 128);
  CHECK(h.Feed(IcmpPacket(t6, o6, 129, 0, c6, {})));
  CHECK_EQ(h.Last()[rec::kProto], kProtoIcmp6);
  CHECK(!h.Feed(IcmpPacket(t6, o6, 129, 0, c6 ^ 1, {})));
  // An unreachable quoting our echo request.
  const IpAddress t4b = Ip("10.9.0.6");
  const uint32_t cq = h.EchoCookie(o4, t4b, 8);
  const auto echo_probe = IcmpPacket(o4, t4b, 8, 0, cq, {});
  CHECK(h.Feed(IcmpPacket(Ip("10.9.0.1"), o4, 3, 1, 0, echo_probe)));
  CHECK_EQ(h.Last()[rec::kKind], static_cast<uint8_t>(RecordKind::kIcmpError));
  CHECK_EQ(h.Last()[rec::kProto], kProtoIcmp);

  // ARP reply to us.
  std::vector<uint8_t> arp(14 + kArpLen);
  std::memcpy(arp.data(), kOurMac, 6);
  std::memcpy(arp.data() + 6, kPeerMac, 6);
  StoreBe16(arp.data() + 12, kEtherTypeArp);
  uint8_t* a = arp.data() + 14;
  StoreBe16(a, 1);
  StoreBe16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  StoreBe16(a + 6, 2);
  std::memcpy(a + 8, kPeerMac, 6);
  std::memcpy(a + 14, t4.bytes, 4);
  std::memcpy(a + 18, kOurMac, 6);
  std::memcpy(a + 24, o4.bytes, 4);
  CHECK(h.FeedFrame(arp));
  b = h.Last();
  CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kNeighborReply));
  CHECK_EQ(b[rec::kFamily], 4);
  CHECK(std::memcmp(b + rec::kAddr, t4.bytes, 4) == 0);
  CHECK(std::memcmp(b + rec::kMac, kPeerMac, 6) == 0);
  CHECK_EQ(b[rec::kFlags] & record_flag::kNdp, 0);
  CHECK(!h.FeedFrame(arp));  // a second (gratuitous) reply: duplicate
  a[24] ^= 1;                // addressed to someone else
  CHECK(!h.FeedFrame(arp));

  // Neighbour advertisement to us, with the target link-layer address option.
  std::vector<uint8_t> na_body(16 + 8);
  std::memcpy(na_body.data(), t6.bytes, 16);
  na_body[16] = 2;
  na_body[17] = 1;
  std::memcpy(na_body.data() + 18, kPeerMac, 6);
  CHECK(h.Feed(IcmpPacket(t6, o6, 136, 0, 0x60000000, na_body, 255)));
  b = h.Last();
  CHECK_EQ(b[rec::kKind], static_cast<uint8_t>(RecordKind::kNeighborReply));
  CHECK_EQ(b[rec::kFamily], 6);
  CHECK_EQ(b[rec::kFlags] & record_flag::kNdp, record_flag::kNdp);
  CHECK(std::memcmp(b + rec::kAddr, t6.bytes, 16) == 0);
  CHECK(std::memcmp(b + rec::kMac, kPeerMac, 6) == 0);
  CHECK_EQ(b[rec::kTtl], 255);

  CHECK_EQ(h.matched(), 6u);
  CHECK_EQ(h.dups(), 1u);
  CHECK_EQ(h.strays(), 3u);
  AnsweredProbe ap;
  int pushed = 0, neighbour = 0;
  while (h.answered.TryPop(&ap)) {
    ++pushed;
    if (ap.proto == 0) ++neighbour;
  }
  CHECK_EQ(pushed, 6);
  CHECK_EQ(neighbour, 2);
}

TEST(a_full_answered_queue_or_ring_is_counted_not_fatal) {
  Harness h(kModeTcpSyn);
  SpscRing<AnsweredProbe> tiny(2);
  auto small_ring = std::make_shared<RecordRing>(2);
  ReplyMatcher m(h.config, small_ring.get(), &tiny, &h.counters);
  const IpAddress ours = h.config.src_v4;
  for (uint16_t i = 0; i < 5; ++i) {
    IpAddress t = Ip("198.51.100.1");
    t.bytes[3] = static_cast<uint8_t>(1 + i);
    const auto pkt = TcpPacket(t, ours, 443, 61000, 1, h.TcpCookie(ours, 61000, t, 443) + 1, tcp_flag::kSyn | tcp_flag::kAck);
    m.Process(pkt.data(), pkt.size(), false, false, 1);
  }
  CHECK_EQ(h.counters.matched.load(), 5u);
  CHECK_EQ(h.counters.answered_full.load(), 3u);
  CHECK_EQ(small_ring->overflow(), 3u);
}

// ------------------------------------------------------------ recent flows, softnet

TEST(recent_flows_remember_and_forget_by_slot) {
  RecentFlows r(16);
  uint8_t a[16] = {10, 0, 0, 1}, b[16] = {10, 0, 0, 2};
  CHECK(!r.SeenOrInsert(FlowKey{4, 6, 61000, 80, a}));
  CHECK(r.SeenOrInsert(FlowKey{4, 6, 61000, 80, a}));
  CHECK(!r.SeenOrInsert(FlowKey{4, 6, 61000, 81, a}));
  CHECK(!r.SeenOrInsert(FlowKey{4, 17, 61000, 80, a}));
  CHECK(!r.SeenOrInsert(FlowKey{4, 6, 61000, 80, b}));
  CHECK(!r.SeenOrInsert(FlowKey{6, 6, 61000, 80, a}));
  // Fill far past capacity: earlier flows get overwritten (forgotten), never falsely "seen".
  int seen = 0;
  for (uint16_t p = 0; p < 4096; ++p) {
    if (p != 80) seen += r.SeenOrInsert(FlowKey{4, 6, 61000, p, b});
  }
  CHECK_EQ(seen, 0);
  int remembered = 0;
  for (uint16_t p = 4080; p < 4096; ++p) remembered += r.SeenOrInsert(FlowKey{4, 6, 61000, p, b});
  CHECK(remembered >= 1 && remembered <= 16);
  // Distinct fingerprints for many flows (no 64-bit collisions in a small sample).
  std::vector<uint64_t> fps;
  for (uint32_t i = 0; i < 20000; ++i) {
    uint8_t addr[16] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    fps.push_back(RecentFlows::Fingerprint(FlowKey{4, 6, 61000, static_cast<uint16_t>(i % 7), addr}));
  }
  std::sort(fps.begin(), fps.end());
  CHECK(std::adjacent_find(fps.begin(), fps.end()) == fps.end());
  bool threw = false;
  try {
    RecentFlows bad(1000);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

TEST(softnet_stat_second_column_summed) {
  const char text[] =
      "0000a1b2 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n"
      "000000ff 0000000a 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001\n";
  uint64_t total = 0;
  CHECK(ParseSoftnetDrops(text, sizeof text - 1, &total));
  CHECK_EQ(total, 13u);
  CHECK(!ParseSoftnetDrops("", 0, &total));
  CHECK(!ParseSoftnetDrops("zz\n", 3, &total));
  SoftnetDrops live;
  if (live.Start()) CHECK(live.Poll() < (uint64_t{1} << 40));
}

TEST(capture_config_errors_are_typed) {
  CaptureConfig c;
  c.interface = "pf-no-such-if0";
  c.src_v4 = Ip("127.0.0.1");
  c.port_first = 61000;
  c.port_count = 10;
  auto ring = std::make_shared<RecordRing>(64);
  auto err_of = [&](const CaptureConfig& cfg) {
    try {
      Capture cap(cfg, ring, nullptr);
    } catch (const CaptureError& e) {
      return e.err;
    }
    return 0;
  };
  const int e = err_of(c);
  CHECK(e == ENODEV || e == EPERM);
  CaptureConfig b = c;
  b.block_size = 5000;
  CHECK_EQ(err_of(b), EINVAL);
  b = c;
  b.port_count = 0;
  CHECK_EQ(err_of(b), EINVAL);
  b = c;
  b.retire_ms = 0;
  CHECK_EQ(err_of(b), EINVAL);
  b = c;
  b.interface = "";
  CHECK_EQ(err_of(b), EINVAL);
}

// ------------------------------------------------------------ real sockets (root)

// Moves this process into a fresh network namespace with loopback up: nothing sent here can
// leave it, and it disappears with the process.
static std::string EnterPrivateNetns() {
  if (geteuid() != 0) return "not root";
  if (unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  const bool ok = s >= 0 && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  if (s >= 0) close(s);
  return ok ? "" : "cannot bring lo up";
}

static CaptureConfig LoopbackConfig() {
  CaptureConfig c;
  c.interface = "lo";
  c.ethernet = true;  // loopback frames carry a zeroed Ethernet header
  c.src_v4 = Ip("127.0.0.1");
  c.port_first = 61000;
  c.port_count = 4536;
  c.key = CookieKey{0x1111222233334444ULL, 0x5555666677778888ULL};
  c.block_size = 1 << 14;
  c.block_count = 4;
  return c;
}

static void WaitFor(const std::function<bool()>& done) {
  // Bounded: at most 2 s of 5 ms naps, then the caller's CHECKs report what is missing.
  for (int i = 0; i < 400 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

static void SendRaw(const std::vector<uint8_t>& pkt) {
  const int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);  // IP_HDRINCL implied
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, pkt.data() + 16, 4);
  CHECK(s >= 0 && sendto(s, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == static_cast<ssize_t>(pkt.size()));
  if (s >= 0) close(s);
}

static bool g_in_netns = false;

TEST(root_loopback_kernel_replies_match) {
  const std::string why = g_in_netns ? "" : "no private network namespace";
  if (!why.empty()) {
    std::printf("  root_loopback_kernel_replies_match: skipped (%s)\n", why.c_str());
    return;
  }
  // A kernel listener (open port) in the private namespace; 9 has none (closed).
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(8080);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && listen(l, 16) == 0);

  CaptureConfig cfg = LoopbackConfig();
  auto ring = std::make_shared<RecordRing>(256);
  SpscRing<AnsweredProbe> answered(256);
  Capture cap(cfg, ring, &answered);
  cap.Start();
  const IpAddress lo = cfg.src_v4;
  auto cookie = [&](uint16_t sport, uint16_t dport) { return Cookie(cfg.key, Flow{4, kProtoTcp, sport, dport, lo.bytes, lo.bytes}); };
  SendRaw(TcpPacket(lo, lo, 61010, 8080, cookie(61010, 8080), 0, tcp_flag::kSyn));   // -> SYN-ACK (partial checksum on lo)
  SendRaw(TcpPacket(lo, lo, 61011, 9, cookie(61011, 9), 0, tcp_flag::kSyn));         // -> RST-ACK
  SendRaw(TcpPacket(lo, lo, 61012, 8080, cookie(61012, 8080) + 5, 0, tcp_flag::kSyn));  // wrong cookie -> stray
  WaitFor([&] { return cap.counters().matched.load() >= 2 && cap.counters().strays.load() >= 1; });
  // The same SYN again: the kernel answers again, a duplicate of an answered flow.
  SendRaw(TcpPacket(lo, lo, 61011, 9, cookie(61011, 9), 0, tcp_flag::kSyn));
  WaitFor([&] { return cap.counters().duplicates.load() >= 1; });
  cap.Stop();
  std::printf("  loopback capture: received %llu matched %llu strays %llu duplicates %llu; Stop() joined in %.2f ms\n",
              static_cast<unsigned long long>(cap.counters().received.load()), static_cast<unsigned long long>(cap.counters().matched.load()),
              static_cast<unsigned long long>(cap.counters().strays.load()), static_cast<unsigned long long>(cap.counters().duplicates.load()),
              cap.last_join_ms());
  CHECK_EQ(cap.counters().matched.load(), 2u);
  CHECK_EQ(cap.counters().duplicates.load(), 1u);
  CHECK_EQ(cap.counters().strays.load(), 1u);
  CHECK_EQ(cap.counters().parse_errors.load(), 0u);
  CHECK_EQ(ring->ring().AvailableFresh(), 2u);
  bool saw_synack = false, saw_rst = false;
  for (size_t i = 0; i < ring->ring().Available(); ++i) {
    const uint8_t* b = ring->ring().Peek(i).bytes;
    if (b[rec::kTcpFlags] == (tcp_flag::kSyn | tcp_flag::kAck)) {
      saw_synack = true;
      CHECK_EQ(LoadLe<uint16_t>(b + rec::kPort), 8080);
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kAck), cookie(61010, 8080) + 1);
      CHECK_EQ(b[rec::kFlags] & record_flag::kChecksumPartial, record_flag::kChecksumPartial);  // TP_STATUS_CSUMNOTREADY
      CHECK_EQ(LoadLe<uint32_t>(b + rec::kEchoedSend), 777u);  // our SYN's TSval, echoed as TSecr
    }
    if (b[rec::kTcpFlags] == (tcp_flag::kRst | tcp_flag::kAck)) saw_rst = true;
  }
  CHECK(saw_synack);
  CHECK(saw_rst);
  AnsweredProbe a;
  int pushed = 0;
  while (answered.TryPop(&a)) ++pushed;
  CHECK_EQ(pushed, 2);
  close(l);
}

TEST(root_start_stop_loop) {
  if (!g_in_netns) {
    std::printf("  root_start_stop_loop: skipped (no private network namespace)\n");
    return;
  }
  auto ring = std::make_shared<RecordRing>(64);
  double worst = 0;
  for (int i = 0; i < 200; ++i) {
    Capture cap(LoopbackConfig(), ring, nullptr);
    if (i % 2 == 0) cap.Start();  // odd iterations: constructed and destroyed without a thread
    if (i % 4 == 0) cap.Stop();   // explicit Stop(), then the destructor's (idempotent)
    else if (i % 4 == 2) {
      cap.Stop();
      cap.Stop();
    }
    worst = std::max(worst, cap.last_join_ms());
  }
  std::printf("  200 capture start/stop cycles; slowest Stop() join %.2f ms\n", worst);
  // Every Capture detached itself from the ring: a new producer can attach.
  struct Idle : OwnedThread {
    void RequestStop() override {}
    void Join() override {}
  } idle;
  CHECK(ring->AttachProducer(&idle));
  ring->DetachProducer(&idle);
}

// The capture is the replies ring's producer from construction, not from Start(): nothing
// can attach in between, and a ring's StopProducer() before Start() leaves a capture that
// starts and ends at once. RequestStop() stays safe after Stop() (the sender may call it late).
TEST(root_producer_from_construction) {
  if (!g_in_netns) {
    std::printf("  root_producer_from_construction: skipped (no private network namespace)\n");
    return;
  }
  struct Idle : OwnedThread {
    void RequestStop() override {}
    void Join() override {}
  } idle;
  auto ring = std::make_shared<RecordRing>(64);
  {
    Capture cap(LoopbackConfig(), ring, nullptr);
    CHECK(!ring->AttachProducer(&idle));  // taken by the capture before Start()
    bool busy = false;
    try {
      Capture second(LoopbackConfig(), ring, nullptr);
    } catch (const CaptureError& e) {
      busy = e.err == EBUSY;
    }
    CHECK(busy);
    ring->StopProducer();  // e.g. the ring closed before the engine started
    cap.Start();
    cap.Stop();
    cap.RequestStop();
  }
  CHECK(ring->AttachProducer(&idle));  // detached again
  ring->DetachProducer(&idle);
}

// The interface going down sets ENETDOWN on the socket, and POLLERR stays set until the
// error is read: the capture reads and counts it (instead of polling in a tight loop), and
// still stops promptly.
TEST(root_interface_down_is_counted_not_spun_on) {
  if (!g_in_netns) {
    std::printf("  root_interface_down_is_counted_not_spun_on: skipped (no private network namespace)\n");
    return;
  }
  if (std::system("ip link add pfdown0 type veth peer name pfdown1 && ip link set pfdown1 up && ip link set pfdown0 up") != 0) {
    std::printf("  root_interface_down_is_counted_not_spun_on: skipped (cannot create a veth pair)\n");
    return;
  }
  auto ring = std::make_shared<RecordRing>(64);
  CaptureConfig c = LoopbackConfig();
  c.interface = "pfdown0";
  Capture cap(c, ring, nullptr);
  cap.Start();
  CHECK(std::system("ip link set pfdown0 down") == 0);
  for (int i = 0; i < 5000 && cap.counters().socket_errors.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK_EQ(cap.counters().socket_errors.load(), 1u);
  CHECK_EQ(cap.counters().last_socket_errno.load(), ENETDOWN);
  CHECK(std::system("ip link del pfdown0") == 0);
  cap.Stop();
}

int main(int argc, char** argv) {
  g_fixtures = argc > 1 ? argv[1] : "../fixtures";
  const std::string why = EnterPrivateNetns();
  g_in_netns = why.empty();
  if (!g_in_netns) std::printf("capture: root tests skipped: %s\n", why.c_str());
  return check::RunAll("capture");
}
