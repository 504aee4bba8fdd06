// Checksums, templates and the parser, run under AddressSanitizer and UBSan.
#include <cstring>
#include <random>
#include <string>

#include "check.h"
#include "common/bytes.h"
#include "packet/checksum.h"
#include "packet/templates.h"
#include "parser/parser.h"
#include "pcap_reader.h"

using namespace portflow;

static std::string g_fixtures;

static std::vector<PcapFile> LoadFixtures() {
  std::vector<PcapFile> out;
  for (const char* name : {"veth-ethernet", "any-sll", "any-sll2", "lo-partial-checksums"}) {
    PcapFile f;
    if (!ReadPcap(g_fixtures + "/" + name + ".pcap", &f)) {
      std::fprintf(stderr, "    cannot read fixture %s/%s.pcap\n", g_fixtures.c_str(), name);
      ++check::Failures();
      continue;
    }
    out.push_back(std::move(f));
  }
  return out;
}

TEST(rfc1071_example_sum) {
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK_EQ(FoldSum(SumBytes(d, sizeof d)), 0xddf2);
  CHECK_EQ(FoldComplement(SumBytes(d, sizeof d)), 0x220d);
  const uint8_t odd[] = {0x01};
  CHECK_EQ(FoldSum(SumBytes(odd, 1)), 0x0100);
  // Pieces summed separately give the same result when all but the last are even.
  CHECK_EQ(FoldSum(SumBytes(d + 4, 4, SumBytes(d, 4))), 0xddf2);
}

TEST(known_ipv4_header_checksum) {
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  CHECK_EQ(FoldComplement(SumBytes(h, 20)), 0xb861);
  StoreBe16(h + 10, 0xb861);
  CHECK_EQ(FoldSum(SumBytes(h, 20)), 0xffff);
}

TEST(captured_checksums_recompute_exactly) {
  int verified = 0;
  for (const PcapFile& f : LoadFixtures()) {
    if (f.link_type != 1) continue;
    for (const auto& fr : f.frames) {
      ParsedPacket p;
      ParseOptions opt;
      if (ParsePacket(fr.data(), fr.size(), opt, &p) != ParseError::kNone || !p.family) continue;
      if (p.proto != kProtoTcp && p.proto != kProtoUdp) continue;
      if (p.l4_checksum == ChecksumStatus::kBad) continue;  // lo-partial: checked in JS tests
      std::vector<uint8_t> copy = fr;
      const size_t csum_at = p.l4_offset + (p.proto == kProtoTcp ? 16 : 6);
      const uint16_t captured = LoadBe16(&copy[csum_at]);
      StoreBe16(&copy[csum_at], 0);
      const size_t seg = p.ip_len - (p.l4_offset - p.l3_offset);  // both families: ip_len counts the IP header
      const uint64_t pseudo = p.family == 4 ? PseudoHeaderSum4(p.src, p.dst, p.proto, static_cast<uint32_t>(seg))
                                            : PseudoHeaderSum6(p.src, p.dst, p.proto, static_cast<uint32_t>(seg));
      CHECK_EQ(FoldComplement(SumBytes(&copy[p.l4_offset], seg, pseudo)), captured);
      ++verified;
    }
  }
  CHECK(verified >= 28);  // every TCP/UDP segment of the veth capture and the loopback RST
}

TEST(checksum_adjust_matches_recompute) {
  std::mt19937 rng(7);
  for (int i = 0; i < 10000; ++i) {
    uint8_t buf[32];
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    const uint16_t before = FoldComplement(SumBytes(buf, sizeof buf));
    const size_t at = (rng() % 16) * 2;
    const uint16_t old_word = LoadBe16(buf + at);
    const uint16_t new_word = static_cast<uint16_t>(rng());
    StoreBe16(buf + at, new_word);
    const uint16_t after = FoldComplement(SumBytes(buf, sizeof buf));
    const uint16_t adjusted = ChecksumAdjust16(before, old_word, new_word);
    // 0x0000 and 0xffff are the same one's-complement value.
    CHECK(adjusted == after || (adjusted == 0 && after == 0xffff) || (adjusted == 0xffff && after == 0));
  }
}

static IpSpec RandomIp(std::mt19937& rng, uint8_t family) {
  IpSpec ip;
  ip.src.family = ip.dst.family = family;
  for (size_t i = 0; i < 16; ++i) {
    ip.src.bytes[i] = static_cast<uint8_t>(rng());
    ip.dst.bytes[i] = static_cast<uint8_t>(rng());
  }
  if (family == 4) std::memset(ip.src.bytes + 4, 0, 12), std::memset(ip.dst.bytes + 4, 0, 12);
  ip.ttl = static_cast<uint8_t>(rng());
  ip.ip_id = static_cast<uint16_t>(rng());
  ip.flow_label = rng() & 0xfffff;
  return ip;
}

// Every Patch* leaves the packet byte-identical to a fresh build with the new values.
TEST(patches_equal_fresh_build) {
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    const uint8_t family = (i & 1) ? 6 : 4;
    LinkSpec link;
    link.ethernet = (i & 2) != 0;
    IpSpec ip = RandomIp(rng, family);
    TcpSpec tcp;
    tcp.src_port = static_cast<uint16_t>(rng());
    tcp.dst_port = static_cast<uint16_t>(rng());
    tcp.seq = rng();
    tcp.mss = 1460;
    tcp.sack_permitted = (i & 4) != 0;
    tcp.timestamps = (i & 8) != 0;
    tcp.tsval = rng();
    tcp.window_scale = (i & 16) ? 7 : -1;
    uint8_t pkt[128], fresh[128];
    Layout l, l2;
    CHECK(BuildTcp(pkt, sizeof pkt, link, ip, tcp, &l) == BuildStatus::kOk);
    IpSpec ip2 = RandomIp(rng, family);
    ip2.src = ip.src;
    ip2.flow_label = ip.flow_label;
    TcpSpec t2 = tcp;
    t2.src_port = static_cast<uint16_t>(rng());
    t2.dst_port = static_cast<uint16_t>(rng());
    t2.seq = rng();
    t2.tsval = tcp.timestamps ? rng() : tcp.tsval;
    if (i % 3 == 0) {
      PatchSynProbe(pkt, l, ip2.dst.bytes, t2.src_port, t2.dst_port, t2.seq, t2.tsval, ip2.ip_id);
      PatchTtl(pkt, l, ip2.ttl);
    } else {
      PatchDstAddr(pkt, l, ip2.dst.bytes);
      PatchPorts(pkt, l, t2.src_port, t2.dst_port);
      PatchTcpSeq(pkt, l, t2.seq);
      PatchTcpTsval(pkt, l, t2.tsval);
      PatchIpId(pkt, l, ip2.ip_id);
      PatchTtl(pkt, l, ip2.ttl);
    }
    if (family == 6) ip2.ip_id = ip.ip_id;
    CHECK(BuildTcp(fresh, sizeof fresh, link, ip2, t2, &l2) == BuildStatus::kOk);
    CHECK_EQ(l.length, l2.length);
    if (std::memcmp(pkt, fresh, l.length) != 0) {
      ++check::Failures();
      std::fprintf(stderr, "    TCP patch mismatch at iteration %d\n", i);
      break;
    }
  }
}

TEST(udp_and_icmp_patches_equal_fresh_build) {
  std::mt19937 rng(99);
  uint8_t payload[37];
  for (auto& b : payload) b = static_cast<uint8_t>(rng());
  for (int i = 0; i < 5000; ++i) {
    const uint8_t family = (i & 1) ? 6 : 4;
    LinkSpec link;
    IpSpec ip = RandomIp(rng, family);
    UdpSpec udp;
    udp.payload = payload;
    udp.payload_len = rng() % sizeof payload;
    uint8_t pkt[128], fresh[128];
    Layout l, l2;
    CHECK(BuildUdp(pkt, sizeof pkt, link, ip, udp, &l) == BuildStatus::kOk);
    IpSpec ip2 = RandomIp(rng, family);
    ip2.flow_label = ip.flow_label;
    ip2.ttl = ip.ttl;
    ip2.ip_id = ip.ip_id;
    UdpSpec u2 = udp;
    u2.src_port = static_cast<uint16_t>(rng());
    u2.dst_port = static_cast<uint16_t>(rng());
    PatchSrcAddr(pkt, l, ip2.src.bytes);
    PatchDstAddr(pkt, l, ip2.dst.bytes);
    PatchPorts(pkt, l, u2.src_port, u2.dst_port);
    CHECK(BuildUdp(fresh, sizeof fresh, link, ip2, u2, &l2) == BuildStatus::kOk);
    CHECK(std::memcmp(pkt, fresh, l.length) == 0);

    IcmpEchoSpec e;
    e.payload = payload;
    e.payload_len = udp.payload_len;
    CHECK(BuildIcmpEcho(pkt, sizeof pkt, link, ip, e, &l) == BuildStatus::kOk);
    IcmpEchoSpec e2 = e;
    e2.id = static_cast<uint16_t>(rng());
    e2.seq = static_cast<uint16_t>(rng());
    PatchIcmpEcho(pkt, l, e2.id, e2.seq);
    PatchSrcAddr(pkt, l, ip2.src.bytes);
    PatchDstAddr(pkt, l, ip2.dst.bytes);
    CHECK(BuildIcmpEcho(fresh, sizeof fresh, link, ip2, e2, &l2) == BuildStatus::kOk);
    CHECK(std::memcmp(pkt, fresh, l.length) == 0);
  }
}

TEST(patches_leave_frames_they_do_not_apply_to_untouched) {
  uint8_t arp[64], copy[64];
  Layout l;
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 1}, a[16] = {10, 0, 0, 1}, b[16] = {10, 0, 0, 2};
  CHECK(BuildArpRequest(arp, sizeof arp, mac, a, b, &l) == BuildStatus::kOk);
  std::memcpy(copy, arp, sizeof arp);
  PatchDstAddr(arp, l, b);
  PatchSrcAddr(arp, l, b);
  PatchTtl(arp, l, 1);
  PatchIpId(arp, l, 7);
  PatchPorts(arp, l, 1, 2);
  PatchSynProbe(arp, l, b, 1, 2, 3, 4, 5);
  CHECK(std::memcmp(arp, copy, sizeof arp) == 0);
}

TEST(builders_refuse_what_cannot_be_built) {
  uint8_t small[40];
  Layout l;
  LinkSpec link;
  IpSpec ip;
  ip.src.family = 4;
  ip.dst.family = 6;
  TcpSpec tcp;
  CHECK(BuildTcp(small, sizeof small, link, ip, tcp, &l) == BuildStatus::kBadFamily);
  ip.dst.family = 4;
  tcp.mss = 1460;
  CHECK(BuildTcp(small, sizeof small, link, ip, tcp, &l) == BuildStatus::kBufferTooSmall);
  UdpSpec udp;
  static uint8_t big[70000];
  udp.payload = big;
  udp.payload_len = 65508;
  static uint8_t out[70100];
  CHECK(BuildUdp(out, sizeof out, link, ip, udp, &l) == BuildStatus::kPayloadTooLarge);
  ip.src.family = ip.dst.family = 6;
  CHECK(BuildUdp(out, sizeof out, link, ip, udp, &l) == BuildStatus::kOk);  // IPv6 payload length excludes the header
  IcmpTimestampSpec ts;
  CHECK(BuildIcmpTimestamp(out, sizeof out, link, ip, ts, &l) == BuildStatus::kBadFamily);
}

static void CheckInvariants(const uint8_t* /*data*/, size_t len, const ParsedPacket& p) {
  CHECK(p.captured_len == len);
  CHECK(p.option_count <= kMaxTcpOptions);
  if (p.error == ParseError::kNone) {
    CHECK(p.payload_offset + static_cast<size_t>(p.payload_len) <= len);
    CHECK(p.l4_offset <= len);
  } else {
    CHECK(p.error_offset <= len);
  }
}

// The corpus the sanitizers run over: every real frame, each of its truncations,
// and bit-flipped/garbage variants, under every link type.
TEST(parser_corpus_under_sanitizers) {
  std::mt19937 rng(1234);
  const LinkType links[] = {LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kRaw};
  size_t parsed = 0;
  for (const PcapFile& f : LoadFixtures()) {
    for (const auto& fr : f.frames) {
      for (size_t n = 0; n <= fr.size(); ++n) {
        // A heap copy of exactly n bytes so ASan catches any read past the end.
        std::vector<uint8_t> cut(fr.begin(), fr.begin() + static_cast<long>(n));
        for (LinkType lt : links) {
          ParsedPacket p;
          ParseOptions opt;
          opt.link = lt;
          opt.checksum_not_ready = (n & 1) != 0;
          ParsePacket(cut.data(), cut.size(), opt, &p);
          CheckInvariants(cut.data(), cut.size(), p);
          ++parsed;
        }
      }
      for (int m = 0; m < 300; ++m) {
        std::vector<uint8_t> mut = fr;
        const int flips = 1 + static_cast<int>(rng() % 6);
        for (int k = 0; k < flips && !mut.empty(); ++k) mut[rng() % mut.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        if (m % 10 == 0 && !mut.empty()) mut.resize(rng() % mut.size());
        ParsedPacket p;
        ParseOptions opt;
        opt.link = links[m % 4];
        ParsePacket(mut.data(), mut.size(), opt, &p);
        CheckInvariants(mut.data(), mut.size(), p);
        ++parsed;
      }
    }
  }
  for (int i = 0; i < 100000; ++i) {
    std::vector<uint8_t> g(rng() % 160);
    for (auto& b : g) b = static_cast<uint8_t>(rng());
    // Make most of it look like IP so the deeper layers get exercised.
    if (!g.empty() && (i & 1)) g[0] = static_cast<uint8_t>((i & 2) ? 0x45 : 0x60);
    ParsedPacket p;
    ParseOptions opt;
    opt.link = LinkType::kRaw;
    ParsePacket(g.data(), g.size(), opt, &p);
    CheckInvariants(g.data(), g.size(), p);
    ++parsed;
  }
  ParsedPacket p;
  ParseOptions opt;
  CHECK(ParsePacket(nullptr, 0, opt, &p) == ParseError::kTruncated);
  std::printf("  parser corpus: %zu inputs\n", parsed);
}

TEST(tcp_option_signature_of_linux_syn) {
  LinkSpec link;
  IpSpec ip;
  ip.src.family = ip.dst.family = 4;
  TcpSpec tcp;
  tcp.mss = 1460;
  tcp.sack_permitted = tcp.timestamps = true;
  tcp.window_scale = 7;
  uint8_t pkt[80];
  Layout l;
  BuildTcp(pkt, sizeof pkt, link, ip, tcp, &l);
  ParsedPacket p;
  ParseOptions opt;
  opt.link = LinkType::kRaw;
  CHECK(ParsePacket(pkt, l.length, opt, &p) == ParseError::kNone);
  CHECK_EQ(TcpOptionSignature(p), 0x42953u);  // M S T N W
  CHECK(p.l4_checksum == ChecksumStatus::kOk);
  CHECK(p.ip_checksum == ChecksumStatus::kOk);
}

int main(int argc, char** argv) {
  g_fixtures = argc > 1 ? argv[1] : "test/fixtures";
  return check::RunAll("cpp packet tests");
}
