#include "io/engine.h"

#include <cmath>
#include <cstring>
#include <ctime>

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "ring/record.h"
#include "ring/test_producer.h"

namespace portflow::io {

namespace {

constexpr uint32_t kBatch = 256;          // packets per sendmmsg
constexpr uint64_t kMaxSleepNs = 2000000;  // wake at least this often (pause, stop, setRate)
constexpr uint16_t kSenderProducerId = 1;

const uint8_t* Src(const EngineConfig& c, uint8_t family) { return family == 6 ? c.src_v6.bytes : c.src_v4.bytes; }

// The ICMP timestamp's originate time from the batch's wall clock (no clock read per probe).
uint32_t MillisSinceMidnightUt(double wall_ms) { return static_cast<uint32_t>(std::fmod(wall_ms, 86400000.0)); }

// Whether frames on `interface` carry an Ethernet header (Ethernet and loopback do; tun,
// and other layer-3 devices do not): what the capture must parse on an 'ip' layer link.
bool EthernetFramed(const std::string& interface) {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  if (s.get() < 0 || interface.size() >= sizeof ifr.ifr_name) return true;
  std::memcpy(ifr.ifr_name, interface.c_str(), interface.size());
  if (ioctl(s.get(), SIOCGIFHWADDR, &ifr) != 0) return true;
  return ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER || ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
}

}  // namespace

Engine::Engine(EngineConfig cfg, std::shared_ptr<RecordRing> replies, std::shared_ptr<RecordRing> outcomes,
               std::function<void()> on_finished)
    : cfg_(std::move(cfg)),
      replies_(std::move(replies)),
      outcomes_(std::move(outcomes)),
      on_finished_(std::move(on_finished)),
      hops_(cfg_.neighbors, cfg_.routes),
      window_(cfg_.window == 0 ? 1 : cfg_.window),
      pacer_(cfg_.rate),
      answered_(cfg_.ring_capacity) {
  if (cfg_.window == 0) throw EngineConfigError("window", "window: must be at least 1 probe in flight");
  std::string err = job_.init(cfg_.segments.data(), cfg_.segments.size(), cfg_.block_bits.data(), cfg_.block_bits.size(),
                              cfg_.ports.data(), cfg_.ports.size(), cfg_.seed, cfg_.natural, cfg_.shard, cfg_.position);
  if (!err.empty()) throw EngineConfigError("job", "job: " + err);
  end_ = cfg_.end < job_.length() ? cfg_.end : job_.length();
  if (end_ < cfg_.position) throw EngineConfigError("end", "end: " + std::to_string(cfg_.end) + " is before job.position " + std::to_string(cfg_.position));
  // The job's ports must fit the mode: what a port means differs between them.
  for (size_t i = 0; i + 2 < cfg_.ports.size(); i += job::kPortRunWords) {
    const uint32_t kind = cfg_.ports[i], last = cfg_.ports[i + 2];
    if (cfg_.mode == EngineMode::kSyn && kind != static_cast<uint32_t>(job::ProbeKind::kTcp))
      throw EngineConfigError("job", "job: a tcp-syn engine takes TCP ports only; give UDP ports to a udp engine");
    if (cfg_.mode == EngineMode::kUdp && kind != static_cast<uint32_t>(job::ProbeKind::kUdp))
      throw EngineConfigError("job", "job: a udp engine takes UDP ports only; give TCP ports to a tcp-syn engine");
    if (cfg_.mode == EngineMode::kDiscovery) {
      if (kind != static_cast<uint32_t>(job::ProbeKind::kTcp) || last > cfg_.discovery.size())
        throw EngineConfigError("discovery", "discovery: the job's ports are method numbers 1.." + std::to_string(cfg_.discovery.size()) +
                                                 " (TCP kind); port " + std::to_string(last) + " has no method");
    }
  }
  if (cfg_.port_count == 0 || uint32_t{cfg_.port_first} + cfg_.port_count > 65536)
    throw EngineConfigError("sourcePorts", "sourcePorts: first + count must stay within 1..65535");
  if (!cfg_.has_v4 && !cfg_.has_v6) throw EngineConfigError("link", "link: neither srcV4 nor srcV6 is set; nothing can be sent");

  // Templates: a Linux-like SYN per family (MSS from the MTU, SACK, timestamps, WS 7).
  for (int f = 0; f < 2; ++f) {
    const uint8_t family = f == 0 ? 4 : 6;
    if (family == 4 ? !cfg_.has_v4 : !cfg_.has_v6) continue;
    LinkSpec link;
    link.ethernet = cfg_.ethernet;
    std::memcpy(link.src_mac, cfg_.src_mac, 6);
    IpSpec ip;
    ip.src = family == 4 ? cfg_.src_v4 : cfg_.src_v6;
    ip.dst.family = family;
    ip.ttl = cfg_.ttl;
    TcpSpec tcp;
    tcp.flags = tcp_flag::kSyn;
    tcp.window = 64240;
    const uint32_t overhead = family == 4 ? 40 : 60;
    tcp.mss = static_cast<uint16_t>(cfg_.mtu > overhead + 536 ? (cfg_.mtu - overhead > 65535 ? 65535 : cfg_.mtu - overhead) : 536);
    tcp.sack_permitted = true;
    tcp.timestamps = true;
    tcp.window_scale = 7;
    BuildStatus s = BuildTcp(syn_tmpl_[f], sizeof syn_tmpl_[f], link, ip, tcp, &syn_layout_[f]);
    if (s != BuildStatus::kOk) throw EngineConfigError("link", std::string("link: cannot build a SYN template: ") + BuildStatusMessage(s));
  }
  payload_of_port_.assign(65536, -1);
  size_t max_payload = 0;
  for (size_t i = 0; i < cfg_.udp_payloads.size(); ++i) {
    payload_of_port_[cfg_.udp_payloads[i].first] = static_cast<int32_t>(i);
    if (cfg_.udp_payloads[i].second.size() > max_payload) max_payload = cfg_.udp_payloads[i].second.size();
  }
  if (max_payload + 48 > cfg_.mtu)
    throw EngineConfigError("udpPayloads", "udpPayloads: a payload of " + std::to_string(max_payload) + " bytes does not fit the MTU of " +
                                               std::to_string(cfg_.mtu) + " with IPv6 and UDP headers");
  slot_size_ = static_cast<uint32_t>((kEthernetHeaderLen + kIpv6HeaderLen + 60 + max_payload + 63) / 64 * 64);
  if (slot_size_ < 128) slot_size_ = 128;
  slot_mem_.assign(static_cast<size_t>(slot_size_) * kBatch, 0);
  slot_ptr_.resize(kBatch);
  for (uint32_t i = 0; i < kBatch; ++i) slot_ptr_[i] = slot_mem_.data() + static_cast<size_t>(i) * slot_size_;
  slot_len_.assign(kBatch, 0);
  slot_family_.assign(kBatch, 0);
  slot_dst_.assign(kBatch, nullptr);
  probes_.resize(kBatch);
  low_water_.store(cfg_.position, std::memory_order_relaxed);
  high_water_.store(cfg_.position, std::memory_order_relaxed);
  sockets_ = std::make_unique<SendSockets>(cfg_.ethernet, cfg_.interface, cfg_.ifindex, cfg_.has_v4, cfg_.has_v6);
  if (cfg_.capture) {
    CaptureConfig cc;
    cc.interface = cfg_.interface;
    cc.ethernet = cfg_.ethernet || EthernetFramed(cfg_.interface);
    if (cfg_.has_v4) cc.src_v4 = cfg_.src_v4;
    if (cfg_.has_v6) cc.src_v6 = cfg_.src_v6;
    cc.port_first = cfg_.port_first;
    cc.port_count = cfg_.port_count;
    cc.mode = static_cast<uint8_t>(cfg_.mode);
    cc.key = cfg_.key;
    try {
      capture_ = std::make_unique<Capture>(cc, replies_, &answered_);
    } catch (const CaptureError& e) {
      throw SocketError(e.err, e.what());
    }
  }
}

Engine::~Engine() {
  RequestStop();
  Join();
}

void Engine::Start() {
  // Under the join lock: a Start() after Join() (stop(), or the outcomes ring's close() which
  // joins its producer) would run the sender without sockets and leave a thread no one joins.
  std::lock_guard<std::mutex> lock(join_mu_);
  if (joined_) throw EngineStateError("probe engine: already stopped (stop() was called or its outcomes ring was closed); create a new engine");
  if (started_.exchange(true)) return;
  if (capture_) {
    try {
      capture_->Start();  // reading before the first probe leaves
    } catch (const CaptureError& e) {
      throw SocketError(e.err, e.what());
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void Engine::Join() {
  std::lock_guard<std::mutex> lock(join_mu_);
  if (joined_) return;
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  if (capture_) capture_->Stop();  // joins; the object stays for its counters
  sockets_.reset();
  joined_ = true;
}

EngineCounters Engine::counters() const {
  EngineCounters c{};
  c.sent = sent_.load(std::memory_order_relaxed);
  c.probes = probes_sent_.load(std::memory_order_relaxed);
  c.retries = retries_.load(std::memory_order_relaxed);
  c.ring_overflows = outcomes_->overflow() + replies_->overflow();
  if (capture_) {
    const CaptureCounters& k = capture_->counters();
    c.received = k.received.load(std::memory_order_relaxed);
    c.matched = k.matched.load(std::memory_order_relaxed);
    c.duplicates = k.duplicates.load(std::memory_order_relaxed);
    c.strays = k.strays.load(std::memory_order_relaxed);
    c.kernel_drops = k.kernel_drops.load(std::memory_order_relaxed);
    c.softnet_drops = k.softnet_drops.load(std::memory_order_relaxed);
    c.answered_full = k.answered_full.load(std::memory_order_relaxed);
    c.capture_errors = k.socket_errors.load(std::memory_order_relaxed);
  }
  c.send_backpressure = send_counters_.backpressure.load(std::memory_order_relaxed);
  c.send_errors = send_counters_.errors.load(std::memory_order_relaxed);
  c.no_route = no_route_.load(std::memory_order_relaxed);
  c.low_water = low_water_.load(std::memory_order_relaxed);
  c.high_water = high_water_.load(std::memory_order_relaxed);
  c.in_flight = in_flight_.load(std::memory_order_relaxed);
  c.skipped = skipped_.load(std::memory_order_relaxed);
  c.achieved_rate = achieved_rate_.load(std::memory_order_relaxed);
  return c;
}

uint64_t Engine::RtoNs() const {
  double rto_ms = cfg_.initial_rtt_ms;
  if (have_rtt_) rto_ms = (srtt_ns_ + 4 * rttvar_ns_) / 1e6;
  if (rto_ms < cfg_.min_rtt_ms) rto_ms = cfg_.min_rtt_ms;
  if (rto_ms > cfg_.max_rtt_ms) rto_ms = cfg_.max_rtt_ms;
  return static_cast<uint64_t>(rto_ms * 1e6);
}

void Engine::PublishWater() {
  low_water_.store(job_.low_water(), std::memory_order_relaxed);
  high_water_.store(job_.high_water(), std::memory_order_relaxed);
  in_flight_.store(window_.size(), std::memory_order_relaxed);
}

void Engine::SkipHosts(const std::vector<IpAddress>& hosts) {
  std::lock_guard<std::mutex> lock(skip_mu_);
  skip_pending_.insert(skip_pending_.end(), hosts.begin(), hosts.end());
  skip_new_.store(true, std::memory_order_release);
}

void Engine::TakeSkips() {
  if (!skip_new_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(skip_mu_);
  for (const IpAddress& a : skip_pending_) skip_.Insert(a.family, a.bytes);
  skip_pending_.clear();
  skip_new_.store(false, std::memory_order_relaxed);
}

void Engine::DrainAnswered(uint64_t now_ns) {
  size_t n = answered_.Available();
  for (size_t i = 0; i < n; ++i) {
    const AnsweredProbe& a = answered_.Peek(i);
    ProbeKey k;
    k.family = a.family;
    k.proto = a.proto;
    k.dst_port = a.dst_port;
    std::memcpy(k.dst, a.dst, 16);
    if (k.family == 4) std::memset(k.dst + 4, 0, 12);
    const int32_t e = window_.Find(k);
    if (e < 0) continue;  // final already (a duplicate, or answered after NoAnswer)
    InFlight& f = window_.at(e);
    if (f.tries == 1) {
      // RFC 6298, with Karn's rule: only probes sent once give an unambiguous sample.
      const double r = static_cast<double>(now_ns - f.sent_ns);
      if (!have_rtt_) {
        srtt_ns_ = r;
        rttvar_ns_ = r / 2;
        have_rtt_ = true;
      } else {
        rttvar_ns_ = 0.75 * rttvar_ns_ + 0.25 * std::fabs(srtt_ns_ - r);
        srtt_ns_ = 0.875 * srtt_ns_ + 0.125 * r;
      }
    }
    job_.mark_done(f.position);
    window_.Erase(e);
  }
  if (n) answered_.Release(n);
}

void Engine::NoAnswer(uint8_t family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port, uint8_t proto, uint8_t type_byte,
                      uint32_t probes) {
  Record* r = outcomes_->Claim();  // a full ring counts the record as overflow
  if (r == nullptr) return;
  BeginRecord(r, RecordKind::kNoAnswer, family, batch_time_ms_);  // one clock read per batch
  uint8_t* b = r->bytes;
  StoreLe<uint16_t>(b + rec::kPort, dst_port);
  StoreLe<uint16_t>(b + rec::kLocalPort, src_port);
  std::memcpy(b + rec::kAddr, dst, family == 6 ? 16 : 4);
  StoreLe<uint32_t>(b + rec::kCount, probes);
  b[rec::kTcpFlags] = type_byte;
  b[rec::kProto] = proto;
  outcomes_->Commit();
}

// Byte 49 of a NoAnswer record: what the probe was (TCP flags, ICMP type, ARP op, NDP type).
uint8_t Engine::TypeByte(ProbeType type, uint16_t dst_port) {
  switch (type) {
    case ProbeType::kSyn: return tcp_flag::kSyn;
    case ProbeType::kAck: return tcp_flag::kAck;
    case ProbeType::kUdp: return 0;
    case ProbeType::kArp: return 1;    // ARP request
    case ProbeType::kNdp: return 135;  // neighbour solicitation
    case ProbeType::kIcmpEcho:
    case ProbeType::kIcmpTimestamp: return static_cast<uint8_t>(dst_port);
  }
  return 0;
}

void Engine::Finalize(int32_t e, uint8_t tries_sent) {
  const InFlight& f = window_.at(e);
  const auto type = static_cast<ProbeType>(f.type);
  const bool tcp_udp = type == ProbeType::kSyn || type == ProbeType::kAck || type == ProbeType::kUdp;
  NoAnswer(f.key.family, f.key.dst, tcp_udp ? f.key.dst_port : 0, f.src_port, f.key.proto, TypeByte(type, f.key.dst_port), tries_sent);
  job_.mark_done(f.position);
  window_.Erase(e);
}

void Engine::WriteCounters() {
  Record* r = outcomes_->Claim();
  if (r == nullptr) return;
  BeginRecord(r, RecordKind::kCounters, 0, WallClockMs());
  uint8_t* b = r->bytes;
  StoreLe<uint16_t>(b + rec::kProducerId, kSenderProducerId);
  StoreLe<double>(b + rec::kCtrSent, static_cast<double>(sent_.load(std::memory_order_relaxed)));
  const CaptureCounters* k = capture_ ? &capture_->counters() : nullptr;
  const auto get = [k](const std::atomic<uint64_t> CaptureCounters::*f) {
    return k ? static_cast<double>((k->*f).load(std::memory_order_relaxed)) : 0.0;
  };
  StoreLe<double>(b + rec::kCtrReceived, get(&CaptureCounters::received));
  StoreLe<double>(b + rec::kCtrRetries, static_cast<double>(retries_.load(std::memory_order_relaxed)));
  StoreLe<double>(b + rec::kCtrOverflow, static_cast<double>(outcomes_->overflow() + replies_->overflow()));
  StoreLe<double>(b + rec::kCtrParseErrors, get(&CaptureCounters::parse_errors));
  StoreLe<double>(b + rec::kCtrKernelDrops, get(&CaptureCounters::kernel_drops));
  outcomes_->Commit();
}

bool Engine::Admit(const job::Probe& p, uint64_t position, int32_t* entry) {
  ProbeKey k;
  k.family = p.family;
  std::memcpy(k.dst, p.addr, 16);
  ProbeType type = ProbeType::kSyn;
  if (cfg_.mode == EngineMode::kUdp) {
    type = ProbeType::kUdp;
  } else if (cfg_.mode == EngineMode::kDiscovery) {
    const DiscoverySpec& d = cfg_.discovery[p.port - 1];
    type = d.method == DiscoveryMethod::kIcmpEcho        ? ProbeType::kIcmpEcho
           : d.method == DiscoveryMethod::kIcmpTimestamp ? ProbeType::kIcmpTimestamp
           : d.method == DiscoveryMethod::kTcpSyn        ? ProbeType::kSyn
           : d.method == DiscoveryMethod::kTcpAck        ? ProbeType::kAck
           : d.method == DiscoveryMethod::kArp           ? ProbeType::kArp
                                                         : ProbeType::kNdp;
  }
  uint16_t dst_port = p.port;
  switch (type) {
    case ProbeType::kSyn:
    case ProbeType::kAck:
      k.proto = kProtoTcp;
      if (cfg_.mode == EngineMode::kDiscovery) dst_port = cfg_.discovery[p.port - 1].port;
      break;
    case ProbeType::kUdp:
      k.proto = kProtoUdp;
      break;
    case ProbeType::kIcmpEcho:
      k.proto = p.family == 6 ? kProtoIcmp6 : kProtoIcmp;
      dst_port = p.family == 6 ? 128 : 8;
      break;
    case ProbeType::kIcmpTimestamp:
      k.proto = kProtoIcmp;
      dst_port = 13;
      break;
    case ProbeType::kArp:
    case ProbeType::kNdp:
      k.proto = 0;  // as capture reports a neighbour answer: protocol 0, ports 0
      dst_port = 0;
      break;
  }
  k.dst_port = dst_port;
  if (skip_.Contains(p.family, p.addr)) {
    // A host the scanner gave up on: not probed; the scanner made this position final.
    skipped_.fetch_add(1, std::memory_order_relaxed);
    job_.mark_done(position);
    return false;
  }
  const bool has_src = p.family == 6 ? cfg_.has_v6 : cfg_.has_v4;
  uint8_t mac[6] = {};
  // No next hop, no source address of the family, or no ICMPv6 timestamp: final at once.
  const bool neighbor = type == ProbeType::kArp || type == ProbeType::kNdp;
  // ARP / NDP go to broadcast / the solicited-node group on an Ethernet link, for their own
  // family only; no ICMPv6 timestamp exists.
  const bool path = has_src &&
                    (neighbor ? cfg_.ethernet && p.family == (type == ProbeType::kArp ? 4 : 6)
                              : (!cfg_.ethernet || hops_.Lookup(p.family, p.addr, mac))) &&
                    !(type == ProbeType::kIcmpTimestamp && p.family == 6);
  const uint8_t* src = Src(cfg_, p.family);
  Flow flow{p.family, k.proto, 0, 0, src, p.addr};
  uint16_t src_port = 0;
  uint32_t cookie = 0;
  if (type == ProbeType::kSyn || type == ProbeType::kAck) {
    src_port = static_cast<uint16_t>(cfg_.port_first + p.index % cfg_.port_count);  // try 0; resends: Run()
    flow.src_port = src_port;
    flow.dst_port = dst_port;
    if (path) cookie = Cookie(cfg_.key, flow);
  } else if (type == ProbeType::kUdp) {
    flow.dst_port = dst_port;
    if (path) cookie = Cookie(cfg_.key, flow);
    src_port = static_cast<uint16_t>(cfg_.port_first + cookie % cfg_.port_count);
  } else if (path && !neighbor) {
    flow.dst_port = dst_port;  // ICMP: source port 0, destination port = the request's type
    cookie = Cookie(cfg_.key, flow);
  }
  if (!path) {
    no_route_.fetch_add(1, std::memory_order_relaxed);
    const bool tcp_udp = type == ProbeType::kSyn || type == ProbeType::kAck || type == ProbeType::kUdp;
    NoAnswer(p.family, p.addr, tcp_udp ? dst_port : 0, src_port, k.proto, TypeByte(type, dst_port), 0);
    job_.mark_done(position);
    return false;
  }
  const int32_t e = window_.Insert(k);
  InFlight& f = window_.at(e);
  f.position = position;
  f.cookie = cookie;
  f.src_port = src_port;
  f.job_port = p.port;
  f.type = static_cast<uint8_t>(type);
  std::memcpy(f.dst_mac, mac, 6);
  *entry = e;
  return true;
}

bool Engine::Craft(uint32_t i, const InFlight& f) {
  uint8_t* out = slot_ptr_[i];
  const uint8_t family = f.key.family;
  const auto type = static_cast<ProbeType>(f.type);
  slot_family_[i] = family;
  slot_dst_[i] = f.key.dst;
  if (type == ProbeType::kSyn) {
    const int t = family == 6 ? 1 : 0;
    const Layout& lay = syn_layout_[t];
    std::memcpy(out, syn_tmpl_[t], lay.length);
    PatchSynProbe(out, lay, f.key.dst, f.src_port, f.key.dst_port, f.cookie, send_clock_us_, ip_id_++);
    if (cfg_.ethernet) std::memcpy(out, f.dst_mac, 6);
    slot_len_[i] = lay.length;
    return true;
  }
  LinkSpec link;
  link.ethernet = cfg_.ethernet;
  std::memcpy(link.src_mac, cfg_.src_mac, 6);
  std::memcpy(link.dst_mac, f.dst_mac, 6);
  IpSpec ip;
  ip.src = family == 6 ? cfg_.src_v6 : cfg_.src_v4;
  ip.dst.family = family;
  std::memcpy(ip.dst.bytes, f.key.dst, 16);
  ip.ttl = cfg_.ttl;
  ip.ip_id = ip_id_++;
  Layout lay;
  BuildStatus s = BuildStatus::kOk;
  switch (type) {
    case ProbeType::kUdp: {
      UdpSpec u;
      u.src_port = f.src_port;
      u.dst_port = f.key.dst_port;
      const int32_t pi = payload_of_port_[f.key.dst_port];
      if (pi >= 0) {
        u.payload = cfg_.udp_payloads[static_cast<size_t>(pi)].second.data();
        u.payload_len = cfg_.udp_payloads[static_cast<size_t>(pi)].second.size();
      }
      s = BuildUdp(out, slot_size_, link, ip, u, &lay);
      break;
    }
    case ProbeType::kIcmpEcho: {
      // The payload carries the send clock (big-endian) for the reply's echoedSend.
      uint8_t clock[4];
      StoreBe32(clock, send_clock_us_);
      IcmpEchoSpec e{static_cast<uint16_t>(f.cookie >> 16), static_cast<uint16_t>(f.cookie & 0xffff), clock, sizeof clock};
      s = BuildIcmpEcho(out, slot_size_, link, ip, e, &lay);
      break;
    }
    case ProbeType::kIcmpTimestamp: {
      IcmpTimestampSpec t{static_cast<uint16_t>(f.cookie >> 16), static_cast<uint16_t>(f.cookie & 0xffff), MillisSinceMidnightUt(batch_time_ms_)};
      s = BuildIcmpTimestamp(out, slot_size_, link, ip, t, &lay);
      break;
    }
    case ProbeType::kAck: {
      TcpSpec t;
      t.src_port = f.src_port;
      t.dst_port = f.key.dst_port;
      t.flags = tcp_flag::kAck;
      // An unsolicited ACK is answered by a RST with seq = our ack: carry the cookie in both.
      t.seq = f.cookie;
      t.ack = f.cookie;
      t.window = 1024;
      s = BuildTcp(out, slot_size_, link, ip, t, &lay);
      break;
    }
    case ProbeType::kArp:
      s = BuildArpRequest(out, slot_size_, cfg_.src_mac, cfg_.src_v4.bytes, f.key.dst, &lay);
      break;
    case ProbeType::kNdp:
      s = BuildNdpSolicit(out, slot_size_, cfg_.src_mac, cfg_.src_v6.bytes, f.key.dst, &lay);
      break;
    case ProbeType::kSyn:
      break;
  }
  if (s != BuildStatus::kOk) return false;
  slot_len_[i] = lay.length;
  return true;
}

void Engine::Run() {
  // Wake-ups within ~1 µs of the deadline (default slack is 50 µs): pacing at 100k pps
  // sleeps about 1,000 times a second, and every late wake-up would cost rate.
  prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
  uint64_t next_pos = job_.high_water();
  while (!stop_.load(std::memory_order_relaxed)) {
    uint64_t now = MonotonicNs();
    batch_time_ms_ = WallClockMs();
    DrainAnswered(now);
    TakeSkips();
    double rate;
    if (meter_.Sample(now, sent_.load(std::memory_order_relaxed), &rate)) achieved_rate_.store(rate, std::memory_order_relaxed);
    if (now - last_counters_ns_ >= 1000000000u) {
      last_counters_ns_ = now;
      WriteCounters();
    }
    if (pending_retries_ > 0) {
      if (Record* r = outcomes_->Claim()) {
        BeginRecord(r, RecordKind::kRetriesSent, 0, batch_time_ms_);
        StoreLe<uint32_t>(r->bytes + rec::kCount, static_cast<uint32_t>(pending_retries_));
        outcomes_->Commit();
      }
      pending_retries_ = 0;
    }
    PublishWater();
    outcomes_->Publish();
    if (next_pos >= end_ && window_.size() == 0) break;
    if (paused_.load(std::memory_order_relaxed)) {
      // Paused: no first tries, no retries; answers are still taken in (above).
      SleepUntilNs(now + 1000000);
      continue;
    }
    uint64_t wait = 0;
    const uint32_t allowed = pacer_.Take(now, kBatch, &wait);
    if (allowed == 0) {
      SleepUntilNs(now + (wait < kMaxSleepNs ? wait : kMaxSleepNs));
      continue;
    }
    uint32_t n = 0, retries = 0, firsts = 0;
    const uint64_t rto = RtoNs();
    // The send clock (TSval, echo payload) of every probe in this batch: one clock read per
    // batch of ~1 ms, not one per packet; the batch leaves in one sendmmsg right after.
    send_clock_us_ = SendClockMicros();
    int32_t e;
    while (n < allowed && (e = window_.PopExpired(now)) >= 0) {
      InFlight& f = window_.at(e);
      if (skip_.Contains(f.key.family, f.key.dst)) {
        skipped_.fetch_add(1, std::memory_order_relaxed);
        job_.mark_done(f.position);
        window_.Erase(e);
        continue;
      }
      if (f.tries > cfg_.max_retries) {
        Finalize(e, f.tries);
        continue;
      }
      // A TCP resend leaves from the next source port, first + (index + try) % count, with the
      // cookie of that flow: a reply then says which try it answers (the scanner's per-host
      // loss signal). The window's key has no source port, so a reply to any try retires it.
      if (f.type == static_cast<uint8_t>(ProbeType::kSyn) || f.type == static_cast<uint8_t>(ProbeType::kAck)) {
        f.src_port = static_cast<uint16_t>(cfg_.port_first + (f.src_port - cfg_.port_first + 1u) % cfg_.port_count);
        const Flow flow{f.key.family, f.key.proto, f.src_port, f.key.dst_port, Src(cfg_, f.key.family), f.key.dst};
        f.cookie = Cookie(cfg_.key, flow);
      }
      if (!Craft(n, f)) {
        Finalize(e, f.tries);
        continue;
      }
      ++f.tries;
      f.sent_ns = now;
      window_.Schedule(e, now + rto);
      ++n;
      ++retries;
    }
    while (n < allowed && !window_.full() && next_pos < end_) {
      uint64_t room = window_.capacity() - window_.size();
      uint64_t k = allowed - n;
      if (k > room) k = room;
      if (k > end_ - next_pos) k = end_ - next_pos;
      const size_t got = job_.next_batch(probes_.data(), static_cast<size_t>(k));
      for (size_t j = 0; j < got; ++j, ++next_pos) {
        int32_t ne;
        if (!Admit(probes_[j], next_pos, &ne)) continue;
        InFlight& f = window_.at(ne);
        f.tries = 1;
        f.sent_ns = now;
        window_.Schedule(ne, now + rto);
        if (!Craft(n, f)) {
          // Cannot be built (e.g. a payload too large for this family): final with 0 sent.
          f.tries = 0;
          Finalize(ne, 0);
          continue;
        }
        ++n;
        ++firsts;
      }
      if (got == 0) break;
    }
    if (n < allowed) pacer_.Return(allowed - n);
    if (n > 0) {
      const uint32_t ok = sockets_->Send(slot_ptr_.data(), slot_len_.data(), slot_family_.data(), slot_dst_.data(), n, stop_, send_counters_);
      sent_.fetch_add(ok, std::memory_order_relaxed);
      probes_sent_.fetch_add(firsts, std::memory_order_relaxed);
      retries_.fetch_add(retries, std::memory_order_relaxed);
      pending_retries_ += retries;
    } else {
      // Nothing due: sleep until the next timeout (or briefly, to take answers in).
      const uint64_t next = window_.NextDeadline();
      uint64_t until = now + kMaxSleepNs;
      if (next != 0 && next < until) until = next > now ? next : now;
      if (until > now) SleepUntilNs(until);
    }
  }
  PublishWater();
  // Linger for late replies (capture keeps reading), then the final counters.
  if (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t until = MonotonicNs() + static_cast<uint64_t>(cfg_.linger_ms) * 1000000u;
    for (uint64_t now = MonotonicNs(); now < until && !stop_.load(std::memory_order_relaxed); now = MonotonicNs()) {
      DrainAnswered(now);
      SleepUntilNs(now + (until - now < kMaxSleepNs ? until - now : kMaxSleepNs));
    }
  }
  // Capture stops reading now; Join() (JS thread) joins it before `done` resolves.
  if (capture_) capture_->RequestStop();
  double rate;
  if (meter_.Sample(MonotonicNs(), sent_.load(std::memory_order_relaxed), &rate)) achieved_rate_.store(rate, std::memory_order_relaxed);
  WriteCounters();
  outcomes_->Publish();
  const bool completed = !stop_.load(std::memory_order_relaxed);
  finished_.store(completed, std::memory_order_release);
  if (completed && on_finished_) on_finished_();
}

}  // namespace portflow::io
