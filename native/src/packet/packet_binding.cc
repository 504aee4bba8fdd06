#include "packet/packet_binding.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "packet/templates.h"
#include "parser/parser.h"

namespace portflow {

namespace {

// Reads one options object handed over by ts/packet.ts. The TypeScript wrapper
// validates first and names the user's field; these checks keep a direct caller
// of the raw binding from reaching C++ with nonsense.
class OptionsReader {
 public:
  OptionsReader(const Napi::CallbackInfo& info, const char* fn) : env_(info.Env()), fn_(fn) {
    if (info.Length() < 1 || !info[0].IsObject()) Throw("expects an options object");
    obj_ = info[0].As<Napi::Object>();
  }

  uint32_t Uint(const char* key, uint32_t def, uint32_t max) {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined()) return def;
    if (!v.IsNumber()) Throw(std::string(key) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
      Throw(std::string(key) + " must be an integer from 0 to " + std::to_string(max));
    }
    return static_cast<uint32_t>(d);
  }

  bool Bool(const char* key, bool def) {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined()) return def;
    if (!v.IsBoolean()) Throw(std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  // Returns false when absent.
  bool Bytes(const char* key, size_t min, size_t max, const uint8_t** data, size_t* len) {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined()) return false;
    if (!v.IsBuffer()) Throw(std::string(key) + " must be a Buffer");
    auto b = v.As<Napi::Buffer<uint8_t>>();
    if (b.Length() < min || b.Length() > max) {
      Throw(std::string(key) + " must be " + std::to_string(min) + (min == max ? "" : ".." + std::to_string(max)) + " bytes");
    }
    *data = b.Data();
    *len = b.Length();
    return true;
  }

  void Address(const char* key, IpAddress* out) {
    const uint8_t* d;
    size_t n;
    if (!Bytes(key, 4, 16, &d, &n) || (n != 4 && n != 16)) Throw(std::string(key) + " must be a 4- or 16-byte address Buffer");
    out->family = n == 4 ? 4 : 6;
    std::memcpy(out->bytes, d, n);
  }

  bool Mac(const char* key, uint8_t out[6]) {
    const uint8_t* d;
    size_t n;
    if (!Bytes(key, 6, 6, &d, &n)) return false;
    std::memcpy(out, d, 6);
    return true;
  }

  [[noreturn]] void Throw(const std::string& msg) { throw Napi::TypeError::New(env_, std::string(fn_) + ": " + msg); }

  void ReadLinkAndIp(LinkSpec* link, IpSpec* ip) {
    const bool has_src = Mac("srcMac", link->src_mac);
    const bool has_dst = Mac("dstMac", link->dst_mac);
    if (has_src != has_dst) Throw("srcMac and dstMac go together (both for an Ethernet frame, neither for a raw IP packet)");
    link->ethernet = has_src;
    Address("src", &ip->src);
    Address("dst", &ip->dst);
    if (ip->src.family != ip->dst.family) Throw("src and dst must be the same address family");
    ip->ttl = static_cast<uint8_t>(Uint("ttl", 64, 255));
    ip->ip_id = static_cast<uint16_t>(Uint("ipId", 0, 65535));
    ip->dont_fragment = Bool("dontFragment", true);
    ip->tos = static_cast<uint8_t>(Uint("tos", 0, 255));
    ip->flow_label = Uint("flowLabel", 0, 0xfffff);
  }

  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_;
  const char* fn_;
  Napi::Object obj_;
};

Napi::Value Finish(OptionsReader& r, BuildStatus s, std::vector<uint8_t>& buf, const Layout& layout) {
  if (s != BuildStatus::kOk) r.Throw(BuildStatusMessage(s));
  return Napi::Buffer<uint8_t>::Copy(r.env(), buf.data(), layout.length);
}

Napi::Value BuildTcpJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildTcp");
  LinkSpec link;
  IpSpec ip;
  r.ReadLinkAndIp(&link, &ip);
  TcpSpec tcp;
  tcp.src_port = static_cast<uint16_t>(r.Uint("srcPort", 0, 65535));
  tcp.dst_port = static_cast<uint16_t>(r.Uint("dstPort", 0, 65535));
  tcp.seq = r.Uint("seq", 0, 0xffffffffu);
  tcp.ack = r.Uint("ack", 0, 0xffffffffu);
  tcp.flags = static_cast<uint8_t>(r.Uint("flags", tcp_flag::kSyn, 255));
  tcp.window = static_cast<uint16_t>(r.Uint("window", 64240, 65535));
  tcp.mss = static_cast<uint16_t>(r.Uint("mss", 0, 65535));
  tcp.sack_permitted = r.Bool("sackPermitted", false);
  tcp.timestamps = r.Bool("timestamps", false);
  tcp.tsval = r.Uint("tsval", 0, 0xffffffffu);
  tcp.tsecr = r.Uint("tsecr", 0, 0xffffffffu);
  const uint32_t ws = r.Uint("windowScale", 255, 255);
  tcp.window_scale = ws == 255 ? -1 : static_cast<int16_t>(ws);
  if (tcp.window_scale > 14) r.Throw("windowScale must be 0..14 (RFC 7323)");
  std::vector<uint8_t> buf(TcpPacketLen(link, ip, tcp));
  Layout layout;
  return Finish(r, BuildTcp(buf.data(), buf.size(), link, ip, tcp, &layout), buf, layout);
}

Napi::Value BuildUdpJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildUdp");
  LinkSpec link;
  IpSpec ip;
  r.ReadLinkAndIp(&link, &ip);
  UdpSpec udp;
  udp.src_port = static_cast<uint16_t>(r.Uint("srcPort", 0, 65535));
  udp.dst_port = static_cast<uint16_t>(r.Uint("dstPort", 0, 65535));
  r.Bytes("payload", 0, kMaxIpPacket, &udp.payload, &udp.payload_len);
  std::vector<uint8_t> buf(UdpPacketLen(link, ip, udp.payload_len));
  Layout layout;
  return Finish(r, BuildUdp(buf.data(), buf.size(), link, ip, udp, &layout), buf, layout);
}

Napi::Value BuildIcmpEchoJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildIcmpEcho");
  LinkSpec link;
  IpSpec ip;
  r.ReadLinkAndIp(&link, &ip);
  IcmpEchoSpec echo;
  echo.id = static_cast<uint16_t>(r.Uint("id", 0, 65535));
  echo.seq = static_cast<uint16_t>(r.Uint("seq", 0, 65535));
  r.Bytes("payload", 0, kMaxIpPacket, &echo.payload, &echo.payload_len);
  std::vector<uint8_t> buf(IcmpEchoPacketLen(link, ip, echo.payload_len));
  Layout layout;
  return Finish(r, BuildIcmpEcho(buf.data(), buf.size(), link, ip, echo, &layout), buf, layout);
}

Napi::Value BuildIcmpTimestampJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildIcmpTimestamp");
  LinkSpec link;
  IpSpec ip;
  r.ReadLinkAndIp(&link, &ip);
  IcmpTimestampSpec ts;
  ts.id = static_cast<uint16_t>(r.Uint("id", 0, 65535));
  ts.seq = static_cast<uint16_t>(r.Uint("seq", 0, 65535));
  ts.originate = r.Uint("originate", 0, 0xffffffffu);
  std::vector<uint8_t> buf(kEthernetHeaderLen + kIpv6HeaderLen + kIcmpTimestampLen);
  Layout layout;
  return Finish(r, BuildIcmpTimestamp(buf.data(), buf.size(), link, ip, ts, &layout), buf, layout);
}

Napi::Value BuildArpRequestJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildArpRequest");
  uint8_t mac[6];
  if (!r.Mac("srcMac", mac)) r.Throw("srcMac is required");
  IpAddress sender, target;
  r.Address("senderIp", &sender);
  r.Address("targetIp", &target);
  if (sender.family != 4 || target.family != 4) r.Throw("ARP resolves IPv4 addresses; use buildNdpSolicit for IPv6");
  std::vector<uint8_t> buf(kEthernetHeaderLen + kArpLen);
  Layout layout;
  return Finish(r, BuildArpRequest(buf.data(), buf.size(), mac, sender.bytes, target.bytes, &layout), buf, layout);
}

Napi::Value BuildNdpSolicitJs(const Napi::CallbackInfo& info) {
  OptionsReader r(info, "buildNdpSolicit");
  uint8_t mac[6];
  if (!r.Mac("srcMac", mac)) r.Throw("srcMac is required");
  IpAddress src, target;
  r.Address("src", &src);
  r.Address("target", &target);
  if (src.family != 6 || target.family != 6) r.Throw("neighbour solicitation is IPv6; use buildArpRequest for IPv4");
  std::vector<uint8_t> buf(kEthernetHeaderLen + kIpv6HeaderLen + kNdpSolicitLen);
  Layout layout;
  return Finish(r, BuildNdpSolicit(buf.data(), buf.size(), mac, src.bytes, target.bytes, &layout), buf, layout);
}

std::string FormatIp(uint8_t family, const uint8_t* bytes) {
  char s[INET6_ADDRSTRLEN];
  if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, s, sizeof s)) return "";
  return s;
}

std::string FormatMac(const uint8_t* m) {
  char s[18];
  std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return s;
}

std::string TcpFlagLetters(uint8_t f) {
  static constexpr char kLetters[] = "FSRPAUEC";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (f & (1 << i)) s += kLetters[i];
  }
  return s;
}

Napi::Object ToObject(Napi::Env env, const ParsedPacket& p) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object link = Napi::Object::New(env);
  link.Set("ethertype", p.ethertype);
  if (p.has_mac) {
    link.Set("src", FormatMac(p.src_mac));
    link.Set("dst", FormatMac(p.dst_mac));
  } else if (p.has_src_mac) {
    link.Set("src", FormatMac(p.src_mac));
  }
  if (p.vlan_count) link.Set("vlan", p.vlan_id);
  o.Set("link", link);
  if (p.is_arp) {
    Napi::Object a = Napi::Object::New(env);
    a.Set("op", p.arp_op == 1 ? Napi::Value(Napi::String::New(env, "request"))
                              : p.arp_op == 2 ? Napi::Value(Napi::String::New(env, "reply")) : Napi::Value(Napi::Number::New(env, p.arp_op)));
    a.Set("senderMac", FormatMac(p.arp_sender_mac));
    a.Set("senderIp", FormatIp(4, p.arp_sender_ip));
    a.Set("targetMac", FormatMac(p.arp_target_mac));
    a.Set("targetIp", FormatIp(4, p.arp_target_ip));
    o.Set("arp", a);
  }
  if (p.family) {
    Napi::Object ip = Napi::Object::New(env);
    ip.Set("version", p.family);
    ip.Set("src", FormatIp(p.family, p.src));
    ip.Set("dst", FormatIp(p.family, p.dst));
    ip.Set("ttl", p.ttl);
    ip.Set("tos", p.tos);
    ip.Set("ipId", p.ip_id);
    ip.Set("dontFragment", p.dont_fragment);
    ip.Set("fragment", p.fragment);
    ip.Set("protocol", p.proto);
    ip.Set("length", p.ip_len);
    if (p.family == 6) {
      ip.Set("flowLabel", p.flow_label);
      ip.Set("extensionHeaders", p.ext_headers);
    }
    ip.Set("checksum", ChecksumStatusName(p.family == 4 ? p.ip_checksum : ChecksumStatus::kNotChecked));
    o.Set("ip", ip);
  }
  // An L4 object only for a header that parsed completely; an ICMP error whose
  // quote is cut short still has its own type and code.
  const bool l4 = p.family != 0 && !p.fragment && (p.error == ParseError::kNone || p.error_layer == Layer::kQuoted);
  if (l4 && p.proto == kProtoTcp) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("srcPort", p.src_port);
    t.Set("dstPort", p.dst_port);
    t.Set("seq", p.seq);
    t.Set("ack", p.ack);
    t.Set("flags", p.tcp_flags);
    t.Set("flagNames", TcpFlagLetters(p.tcp_flags));
    t.Set("window", p.window);
    t.Set("urgent", p.urgent);
    Napi::Array kinds = Napi::Array::New(env, p.option_count);
    for (uint32_t i = 0; i < p.option_count; ++i) kinds.Set(i, p.option_kinds[i]);
    t.Set("options", kinds);
    t.Set("optionsMalformed", p.options_malformed);
    t.Set("optionSignature", TcpOptionSignature(p));
    if (p.mss) t.Set("mss", p.mss);
    if (p.window_scale >= 0) t.Set("windowScale", p.window_scale);
    t.Set("sackPermitted", p.sack_permitted);
    if (p.has_timestamps) {
      t.Set("tsval", p.tsval);
      t.Set("tsecr", p.tsecr);
    }
    t.Set("checksum", ChecksumStatusName(p.l4_checksum));
    o.Set("tcp", t);
  } else if (l4 && p.proto == kProtoUdp) {
    Napi::Object u = Napi::Object::New(env);
    u.Set("srcPort", p.src_port);
    u.Set("dstPort", p.dst_port);
    u.Set("length", p.udp_len);
    u.Set("checksum", ChecksumStatusName(p.l4_checksum));
    o.Set("udp", u);
  } else if (l4 && (p.proto == kProtoIcmp || p.proto == kProtoIcmp6)) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("version", p.proto == kProtoIcmp ? 4 : 6);
    m.Set("type", p.icmp_type);
    m.Set("code", p.icmp_code);
    m.Set("meaning", IcmpMeaningName(p.icmp_meaning));
    m.Set("checksum", ChecksumStatusName(p.l4_checksum));
    const bool echo = p.proto == kProtoIcmp ? (p.icmp_type == 0 || p.icmp_type == 8 || p.icmp_type == 13 || p.icmp_type == 14)
                                            : (p.icmp_type == 128 || p.icmp_type == 129);
    if (echo) {
      m.Set("id", p.icmp_id);
      m.Set("seq", p.icmp_seq);
    }
    if (p.proto == kProtoIcmp && (p.icmp_type == 13 || p.icmp_type == 14)) {
      m.Set("originate", p.ts_originate);
      m.Set("receive", p.ts_receive);
      m.Set("transmit", p.ts_transmit);
    }
    if (p.icmp_meaning == IcmpMeaning::kFragmentationNeeded) m.Set("mtu", p.icmp_mtu);
    if (p.has_quoted) {
      const QuotedProbe& q = p.quoted;
      Napi::Object qo = Napi::Object::New(env);
      qo.Set("version", q.family);
      qo.Set("src", FormatIp(q.family, q.src));
      qo.Set("dst", FormatIp(q.family, q.dst));
      qo.Set("protocol", q.proto);
      qo.Set("ttl", q.ttl);
      if (q.family == 4) qo.Set("ipId", q.ip_id);
      if (q.has_ports) {
        qo.Set("srcPort", q.src_port);
        qo.Set("dstPort", q.dst_port);
      }
      if (q.has_seq) qo.Set("seq", q.seq);
      if (q.has_echo) {
        qo.Set("echoId", q.echo_id);
        qo.Set("echoSeq", q.echo_seq);
      }
      m.Set("quoted", qo);
    }
    o.Set("icmp", m);
    if (p.is_ndp) {
      Napi::Object n = Napi::Object::New(env);
      n.Set("type", p.icmp_type == 135 ? "solicitation" : "advertisement");
      n.Set("target", FormatIp(6, p.ndp_target));
      if (p.has_ndp_mac) n.Set("mac", FormatMac(p.ndp_mac));
      if (p.icmp_type == 136) {
        n.Set("router", p.ndp_router);
        n.Set("solicited", p.ndp_solicited);
        n.Set("override", p.ndp_override);
      }
      o.Set("ndp", n);
    }
  }
  Napi::Object payload = Napi::Object::New(env);
  payload.Set("offset", p.payload_offset);
  payload.Set("length", p.payload_len);
  o.Set("payload", payload);
  if (p.error != ParseError::kNone) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("kind", ParseErrorName(p.error));
    e.Set("layer", LayerName(p.error_layer));
    e.Set("offset", p.error_offset);
    o.Set("error", e);
  }
  return o;
}

// parse(buffer, linkType, checksumNotReady): linkType is a pcap DLT number.
Napi::Value ParseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "parse: expects a Buffer or Uint8Array");
  auto arr = info[0].As<Napi::Uint8Array>();
  ParseOptions opt;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    const uint32_t dlt = info[1].As<Napi::Number>().Uint32Value();
    if (!LinkTypeFromDlt(dlt, &opt.link)) {
      throw Napi::TypeError::New(env, "parse: link type " + std::to_string(dlt) + " is not supported (1 Ethernet, 113 Linux SLL, 276 Linux SLL2, 101/228/229 raw IP)");
    }
  }
  if (info.Length() > 2) opt.checksum_not_ready = info[2].ToBoolean().Value();
  ParsedPacket p;
  ParsePacket(arr.Data(), arr.ByteLength(), opt, &p);
  return ToObject(env, p);
}

Napi::Value SendClockJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), SendClockMicros()); }

}  // namespace

void InitPacket(Napi::Env env, Napi::Object exports) {
  exports.Set("buildTcp", Napi::Function::New(env, BuildTcpJs, "buildTcp"));
  exports.Set("buildUdp", Napi::Function::New(env, BuildUdpJs, "buildUdp"));
  exports.Set("buildIcmpEcho", Napi::Function::New(env, BuildIcmpEchoJs, "buildIcmpEcho"));
  exports.Set("buildIcmpTimestamp", Napi::Function::New(env, BuildIcmpTimestampJs, "buildIcmpTimestamp"));
  exports.Set("buildArpRequest", Napi::Function::New(env, BuildArpRequestJs, "buildArpRequest"));
  exports.Set("buildNdpSolicit", Napi::Function::New(env, BuildNdpSolicitJs, "buildNdpSolicit"));
  exports.Set("parse", Napi::Function::New(env, ParseJs, "parse"));
  exports.Set("sendClock", Napi::Function::New(env, SendClockJs, "sendClock"));
}

}  // namespace portflow
