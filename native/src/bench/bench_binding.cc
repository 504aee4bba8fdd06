#include "bench/bench_binding.h"

#include <chrono>
#include <cstring>
#include <vector>

#include "packet/templates.h"
#include "parser/parser.h"

namespace portflow {

namespace {

double NowNs() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

uint32_t CountArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expects a packet count");
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= 4e9)) throw Napi::RangeError::New(info.Env(), std::string(fn) + ": count must be 1..4e9");
  return static_cast<uint32_t>(d);
}

// Crafts `count` IPv4 SYNs (Ethernet, Linux option set) the way a sender does: 256
// slots (one sendmmsg batch) built once from the template, then per probe the
// destination, ports, sequence number, TSval and IP ID are patched in place with
// incremental checksums. Returns ns per packet.
Napi::Value CraftSyn(const Napi::CallbackInfo& info) {
  const uint32_t count = CountArg(info, "bench.craftSyn");
  constexpr size_t kSlots = 256, kSlotLen = 128;
  std::vector<uint8_t> slots(kSlots * kSlotLen);
  LinkSpec link;
  link.ethernet = true;
  const uint8_t smac[6] = {2, 0, 0, 0, 0, 1}, dmac[6] = {2, 0, 0, 0, 0, 2};
  std::memcpy(link.src_mac, smac, 6);
  std::memcpy(link.dst_mac, dmac, 6);
  IpSpec ip;
  ip.src.family = ip.dst.family = 4;
  const uint8_t src[4] = {10, 0, 0, 1};
  std::memcpy(ip.src.bytes, src, 4);
  TcpSpec tcp;
  tcp.mss = 1460;
  tcp.sack_permitted = true;
  tcp.timestamps = true;
  tcp.window_scale = 7;
  Layout layout;
  for (size_t i = 0; i < kSlots; ++i) BuildTcp(&slots[i * kSlotLen], kSlotLen, link, ip, tcp, &layout);
  const uint32_t tsval = SendClockMicros();
  uint32_t dst = 0x0a000000;
  const double t0 = NowNs();
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t* pkt = &slots[(i & (kSlots - 1)) * kSlotLen];
    uint8_t addr[4];
    const uint32_t d = dst + (i >> 10);
    addr[0] = static_cast<uint8_t>(d >> 24);
    addr[1] = static_cast<uint8_t>(d >> 16);
    addr[2] = static_cast<uint8_t>(d >> 8);
    addr[3] = static_cast<uint8_t>(d);
    // A cheap per-probe "cookie" stands in for the scan job's SipHash: this measures crafting only.
    PatchSynProbe(pkt, layout, addr, static_cast<uint16_t>(40000 + (i & 0x3ff)), static_cast<uint16_t>(i & 0xffff),
                  i * 2654435761u, tsval + (i >> 12), static_cast<uint16_t>(i));
  }
  const double t1 = NowNs();
  // Keep the optimizer from discarding the loop.
  volatile uint8_t sink = slots[layout.l4_csum];
  (void)sink;
  return Napi::Number::New(info.Env(), (t1 - t0) / count);
}

// Parses `count` frames cycling through a SYN-ACK with Linux options, a RST and an
// ICMP port-unreachable (Ethernet, IPv4), verifying IP and L4 checksums. Returns ns per packet.
Napi::Value Parse(const Napi::CallbackInfo& info) {
  const uint32_t count = CountArg(info, "bench.parse");
  LinkSpec link;
  link.ethernet = true;
  IpSpec ip;
  ip.src.family = ip.dst.family = 4;
  const uint8_t a[4] = {10, 0, 0, 2}, b[4] = {10, 0, 0, 1};
  std::memcpy(ip.src.bytes, a, 4);
  std::memcpy(ip.dst.bytes, b, 4);
  uint8_t frames[3][128];
  size_t lens[3];
  Layout layout;
  TcpSpec synack;
  synack.flags = tcp_flag::kSyn | tcp_flag::kAck;
  synack.src_port = 443;
  synack.dst_port = 40000;
  synack.mss = 1460;
  synack.sack_permitted = true;
  synack.timestamps = true;
  synack.window_scale = 7;
  BuildTcp(frames[0], 128, link, ip, synack, &layout);
  lens[0] = layout.length;
  TcpSpec rst;
  rst.flags = tcp_flag::kRst | tcp_flag::kAck;
  rst.src_port = 81;
  rst.dst_port = 40000;
  BuildTcp(frames[1], 128, link, ip, rst, &layout);
  lens[1] = layout.length;
  // Port unreachable quoting a UDP probe: build the probe, then wrap it.
  uint8_t probe[64];
  IpSpec pip;
  pip.src = ip.dst;
  pip.dst = ip.src;
  UdpSpec udp;
  udp.src_port = 40000;
  udp.dst_port = 53;
  LinkSpec raw;
  BuildUdp(probe, sizeof probe, raw, pip, udp, &layout);
  IcmpEchoSpec err;  // the echo builder lays out type/code/csum/4 bytes/payload, then we retype it
  err.payload = probe;
  err.payload_len = layout.length;
  BuildIcmpEcho(frames[2], 128, link, ip, err, &layout);
  frames[2][layout.l4] = 3;
  frames[2][layout.l4 + 1] = 3;
  PatchIcmpEcho(frames[2], layout, 0, 0);  // recompute-free: then fix the type word below
  {
    // type/code changed from 8/0 to 3/3: adjust the checksum for that word.
    uint16_t c = static_cast<uint16_t>((frames[2][layout.l4_csum] << 8) | frames[2][layout.l4_csum + 1]);
    uint32_t sum = static_cast<uint16_t>(~c) + static_cast<uint32_t>(static_cast<uint16_t>(~0x0800)) + 0x0303u;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    c = static_cast<uint16_t>(~sum);
    frames[2][layout.l4_csum] = static_cast<uint8_t>(c >> 8);
    frames[2][layout.l4_csum + 1] = static_cast<uint8_t>(c);
  }
  lens[2] = layout.length;
  ParseOptions opt;
  ParsedPacket out;
  uint64_t check = 0;
  const double t0 = NowNs();
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t k = i % 3;
    ParsePacket(frames[k], lens[k], opt, &out);
    check += out.src_port + static_cast<uint64_t>(out.l4_checksum) + (out.has_quoted ? out.quoted.dst_port : 0);
  }
  const double t1 = NowNs();
  volatile uint64_t sink = check;
  (void)sink;
  return Napi::Number::New(info.Env(), (t1 - t0) / count);
}

}  // namespace

Napi::Object BenchObject(Napi::Env env, Napi::Object exports) {
  Napi::Value v = exports.Get("bench");
  if (v.IsObject()) return v.As<Napi::Object>();
  Napi::Object bench = Napi::Object::New(env);
  exports.Set("bench", bench);
  return bench;
}

void InitBench(Napi::Env env, Napi::Object exports) {
  Napi::Object bench = BenchObject(env, exports);
  bench.Set("craftSyn", Napi::Function::New(env, CraftSyn, "craftSyn"));
  bench.Set("parse", Napi::Function::New(env, Parse, "parse"));
}

}  // namespace portflow
