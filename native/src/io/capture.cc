#include "io/capture.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/bytes.h"

namespace portflow::io {
namespace {

constexpr uint32_t kFrameSize = 2048;  // TPACKET_V3 packs frames by their real length; this is only the kernel's sanity unit
constexpr uint64_t kStatsEveryNs = 500'000'000;  // PACKET_STATISTICS and softnet_stat, at most this often

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

void Bump(std::atomic<uint64_t>& c, uint64_t by = 1) { c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed); }

std::string Errno(int err) { return std::string(std::strerror(err)); }

const CaptureConfig& Validate(const CaptureConfig& c) {
  auto bad = [](const std::string& m) { return CaptureError(EINVAL, "capture: " + m); };
  if (c.interface.empty() || c.interface.size() >= IFNAMSIZ) throw bad("interface \"" + c.interface + "\" must be 1 to 15 characters (an interface name from `ip link`)");
  const long page = sysconf(_SC_PAGESIZE);
  if (c.block_size < static_cast<uint32_t>(page) || (c.block_size & (c.block_size - 1)) != 0 || c.block_size > (1u << 22)) {
    throw bad("block_size " + std::to_string(c.block_size) + " must be a power of two from the page size (" + std::to_string(page) + ") to 4 MiB");
  }
  if (c.block_count < 2 || c.block_count > 4096) throw bad("block_count " + std::to_string(c.block_count) + " must be 2 to 4096");
  if (c.retire_ms < 1 || c.retire_ms > 1000) throw bad("retire_ms " + std::to_string(c.retire_ms) + " must be 1 to 1000 (replies wait up to this long in a block)");
  if (c.poll_ms < 1 || c.poll_ms > 1000) throw bad("poll_ms " + std::to_string(c.poll_ms) + " must be 1 to 1000");
  if (c.recent_flows < 16 || c.recent_flows > (1u << 26) || (c.recent_flows & (c.recent_flows - 1)) != 0) {
    throw bad("recent_flows " + std::to_string(c.recent_flows) + " must be a power of two from 16 to 2^26");
  }
  try {
    FilterSpec spec{c.ethernet, c.src_v4, c.src_v6, c.port_first, c.port_count, c.mode};
    (void)CompileCaptureFilter(spec);
  } catch (const std::invalid_argument& e) {
    throw CaptureError(EINVAL, e.what());
  }
  return c;
}

void PutAddr(uint8_t* at, uint8_t family, const uint8_t* addr) { std::memcpy(at, addr, family == 6 ? 16 : 4); }

// The TSval option of the TCP probe an ICMP error quotes (Linux quotes the whole SYN), i.e.
// our send clock; 0 when the quote is too short or has no timestamp option. Bounds-checked
// against the captured length like the parser.
uint32_t QuotedTsval(const uint8_t* frame, size_t len, const ParsedPacket& p) {
  size_t ip = p.payload_offset;  // an ICMP error's payload is the quoted IP header
  if (ip >= len) return 0;
  size_t l4;
  if (p.quoted.family == 4) {
    l4 = ip + static_cast<size_t>(frame[ip] & 0x0f) * 4;
  } else {
    if (len - ip < kIpv6HeaderLen || frame[ip + 6] != kProtoTcp) return 0;  // no extension headers walked here
    l4 = ip + kIpv6HeaderLen;
  }
  if (l4 + kTcpHeaderLen > len) return 0;
  const size_t end = std::min(len, l4 + static_cast<size_t>(frame[l4 + 12] >> 4) * 4);
  for (size_t i = l4 + kTcpHeaderLen; i < end;) {
    const uint8_t kind = frame[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= end || frame[i + 1] < 2) break;
    if (kind == 8 && frame[i + 1] == 10 && i + 10 <= end) return LoadBe32(frame + i + 2);
    i += frame[i + 1];
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------- ReplyMatcher

ReplyMatcher::ReplyMatcher(const CaptureConfig& config, RecordRing* replies, SpscRing<AnsweredProbe>* answered, CaptureCounters* counters)
    : config_(config),
      link_(config.ethernet ? LinkType::kEthernet : LinkType::kRaw),
      replies_(replies),
      answered_(answered),
      counters_(counters),
      recent_(config.recent_flows) {}

bool ReplyMatcher::Ours(uint8_t family, const uint8_t* addr) const {
  if (family == 4) return config_.src_v4.family == 4 && std::memcmp(addr, config_.src_v4.bytes, 4) == 0;
  if (family == 6) return config_.src_v6.family == 6 && std::memcmp(addr, config_.src_v6.bytes, 16) == 0;
  return false;
}

uint16_t ReplyMatcher::UdpPortFor(uint8_t family, uint16_t dst_port, const uint8_t* dst) const {
  Flow f{family, kProtoUdp, 0, dst_port, OurAddr(family), dst};
  return static_cast<uint16_t>(config_.port_first + Cookie(config_.key, f) % config_.port_count);
}

bool ReplyMatcher::EchoMatches(uint8_t family, const uint8_t* dst, uint8_t probe_type, uint16_t id, uint16_t seq) const {
  Flow f{family, family == 6 ? kProtoIcmp6 : kProtoIcmp, 0, probe_type, OurAddr(family), dst};
  return Cookie(config_.key, f) == (uint32_t{id} << 16 | seq);
}

bool ReplyMatcher::Accept(uint8_t family, uint8_t proto, uint16_t src_port, uint16_t dst_port, const uint8_t* dst) {
  if (recent_.SeenOrInsert(FlowKey{family, proto, src_port, dst_port, dst})) {
    Bump(counters_->duplicates);
    return false;
  }
  Bump(counters_->matched);
  if (answered_ != nullptr) {
    AnsweredProbe a{family, proto, src_port, dst_port, {}};
    PutAddr(a.dst, family, dst);
    // A full queue only costs the sender a retry it did not need (its answer is in `replies`).
    if (!answered_->TryPush(a)) Bump(counters_->answered_full);
  }
  return true;
}

Record* ReplyMatcher::Begin(RecordKind kind, uint8_t family, uint8_t flags, double time_ms) {
  Record* r = replies_->Claim();  // nullptr: the ring is full, counted as its overflow
  if (r == nullptr) return nullptr;
  BeginRecord(r, kind, family, time_ms);
  r->bytes[rec::kFlags] = flags;
  return r;
}

bool ReplyMatcher::Process(const uint8_t* frame, size_t len, bool checksum_not_ready, bool checksum_valid, double time_ms) {
  Bump(counters_->received);
  ParseOptions opt;
  opt.link = link_;
  opt.checksum_not_ready = checksum_not_ready;
  opt.verify_checksums = !checksum_valid;
  ParsedPacket& p = parsed_;
  if (ParsePacket(frame, len, opt, &p) != ParseError::kNone || p.l4_checksum == ChecksumStatus::kBad ||
      p.ip_checksum == ChecksumStatus::kBad) {
    Bump(counters_->parse_errors);
    return false;
  }
  frame_ = frame;
  frame_len_ = len;
  const bool discovery = config_.mode == kModeDiscovery;
  if (p.is_arp) return discovery ? Neighbor(p, time_ms) : Stray();
  if (p.family == 0 || p.fragment || !Ours(p.family, p.dst)) return Stray();
  uint8_t flags = 0;
  if (p.dont_fragment) flags |= record_flag::kDontFragment;
  if (p.l4_checksum == ChecksumStatus::kPartial) flags |= record_flag::kChecksumPartial;
  switch (p.proto) {
    case kProtoTcp:
      return config_.mode != kModeUdp ? Tcp(p, flags, time_ms) : Stray();
    case kProtoUdp:
      return config_.mode == kModeUdp ? Udp(p, flags, time_ms) : Stray();
    case kProtoIcmp:
    case kProtoIcmp6:
      if ((p.proto == kProtoIcmp6) != (p.family == 6)) return Stray();
      if (p.has_quoted) return IcmpError(p, flags, time_ms);
      if (!discovery) return Stray();
      if (p.is_ndp) return p.icmp_type == 136 ? Neighbor(p, time_ms) : Stray();
      return IcmpReply(p, flags, time_ms);
    default:
      return Stray();
  }
}

bool ReplyMatcher::Stray() {
  Bump(counters_->strays);
  return false;
}

bool ReplyMatcher::InPortRange(uint16_t port) const {
  return config_.port_count != 0 && port >= config_.port_first && uint32_t{port} < uint32_t{config_.port_first} + config_.port_count;
}

bool ReplyMatcher::Tcp(const ParsedPacket& p, uint8_t flags, double time_ms) {
  if (!InPortRange(p.dst_port)) return Stray();
  const Flow f{p.family, kProtoTcp, p.dst_port, p.src_port, OurAddr(p.family), p.src};
  const uint32_t cookie = Cookie(config_.key, f);
  const bool ack = (p.tcp_flags & tcp_flag::kAck) != 0;
  const bool rst = (p.tcp_flags & tcp_flag::kRst) != 0;
  // SYN-ACK / RST-ACK acknowledge seq + 1; a bare RST (the answer to an ACK probe) carries
  // the probe's ack field, which an ACK probe sets to the cookie.
  if (!((ack && p.ack - 1 == cookie) || (rst && !ack && p.seq == cookie))) return Stray();
  if (!Accept(p.family, kProtoTcp, p.dst_port, p.src_port, p.src)) return false;
  if (p.has_timestamps) flags |= record_flag::kHasTimestamps;
  if (p.mss != 0) flags |= record_flag::kHasMss;
  if (p.window_scale >= 0) flags |= record_flag::kHasWindowScale;
  if (p.sack_permitted) flags |= record_flag::kSackPermitted;
  Record* r = Begin(RecordKind::kTcpReply, p.family, flags, time_ms);
  if (r == nullptr) return false;
  uint8_t* b = r->bytes;
  StoreLe<uint16_t>(b + rec::kPort, p.src_port);
  StoreLe<uint16_t>(b + rec::kLocalPort, p.dst_port);
  PutAddr(b + rec::kAddr, p.family, p.src);
  StoreLe<uint32_t>(b + rec::kSeq, p.seq);
  StoreLe<uint32_t>(b + rec::kAck, p.ack);
  if (p.has_timestamps) StoreLe<uint32_t>(b + rec::kTsval, p.tsval);
  StoreLe<uint32_t>(b + rec::kOptionSig, TcpOptionSignature(p));
  b[rec::kTtl] = p.ttl;
  b[rec::kTcpFlags] = p.tcp_flags;
  b[rec::kWindowScale] = p.window_scale >= 0 ? static_cast<uint8_t>(p.window_scale) : 0;
  b[rec::kProto] = kProtoTcp;
  StoreLe<uint16_t>(b + rec::kWindow, p.window);
  StoreLe<uint16_t>(b + rec::kIpId, p.ip_id);
  StoreLe<uint16_t>(b + rec::kMss, p.mss);
  if (p.has_timestamps) StoreLe<uint32_t>(b + rec::kEchoedSend, p.tsecr);
  replies_->Commit();
  return true;
}

bool ReplyMatcher::Udp(const ParsedPacket& p, uint8_t flags, double time_ms) {
  if (!InPortRange(p.dst_port) || p.dst_port != UdpPortFor(p.family, p.src_port, p.src)) return Stray();
  if (!Accept(p.family, kProtoUdp, p.dst_port, p.src_port, p.src)) return false;
  Record* r = Begin(RecordKind::kUdpReply, p.family, flags, time_ms);
  if (r == nullptr) return false;
  uint8_t* b = r->bytes;
  StoreLe<uint16_t>(b + rec::kPort, p.src_port);
  StoreLe<uint16_t>(b + rec::kLocalPort, p.dst_port);
  PutAddr(b + rec::kAddr, p.family, p.src);
  StoreLe<uint32_t>(b + rec::kCount, p.udp_len >= kUdpHeaderLen ? uint32_t{p.udp_len} - kUdpHeaderLen : p.payload_len);
  b[rec::kTtl] = p.ttl;
  b[rec::kProto] = kProtoUdp;
  StoreLe<uint16_t>(b + rec::kIpId, p.ip_id);
  replies_->Commit();
  return true;
}

bool ReplyMatcher::IcmpError(const ParsedPacket& p, uint8_t flags, double time_ms) {
  const QuotedProbe& q = p.quoted;
  if (!q.present || q.family != p.family || !Ours(q.family, q.src)) return Stray();
  uint16_t key_src = 0, key_dst = 0;
  switch (q.proto) {
    case kProtoTcp: {
      if (!q.has_seq || !InPortRange(q.src_port)) return Stray();
      const Flow f{q.family, kProtoTcp, q.src_port, q.dst_port, q.src, q.dst};
      if (Cookie(config_.key, f) != q.seq) return Stray();
      key_src = q.src_port;
      key_dst = q.dst_port;
      break;
    }
    case kProtoUdp:
      if (!q.has_ports || !InPortRange(q.src_port) || q.src_port != UdpPortFor(q.family, q.dst_port, q.dst)) return Stray();
      key_src = q.src_port;
      key_dst = q.dst_port;
      break;
    case kProtoIcmp:
    case kProtoIcmp6: {
      if (!q.has_echo) return Stray();
      // The quote keeps id/seq but not which request it was: echo, else timestamp.
      uint8_t type = q.family == 6 ? 128 : 8;
      if (!EchoMatches(q.family, q.dst, type, q.echo_id, q.echo_seq)) {
        if (q.family == 6 || !EchoMatches(q.family, q.dst, 13, q.echo_id, q.echo_seq)) return Stray();
        type = 13;
      }
      key_dst = type;
      break;
    }
    default:
      return Stray();
  }
  if (!Accept(q.family, q.proto, key_src, key_dst, q.dst)) return false;
  Record* r = Begin(RecordKind::kIcmpError, q.family, flags, time_ms);
  if (r == nullptr) return false;
  uint8_t* b = r->bytes;
  StoreLe<uint16_t>(b + rec::kPort, q.has_ports ? q.dst_port : 0);
  StoreLe<uint16_t>(b + rec::kLocalPort, q.has_ports ? q.src_port : 0);
  PutAddr(b + rec::kAddr, q.family, q.dst);
  PutAddr(b + rec::kReporter, p.family, p.src);
  b[rec::kTtl] = p.ttl;
  b[rec::kIcmpType] = p.icmp_type;
  b[rec::kIcmpCode] = p.icmp_code;
  b[rec::kProto] = q.proto;
  StoreLe<uint16_t>(b + rec::kIpId, p.ip_id);
  if (q.has_seq) {
    StoreLe<uint32_t>(b + rec::kQuotedSeq, q.seq);
    StoreLe<uint32_t>(b + rec::kEchoedSend, QuotedTsval(frame_, frame_len_, p));
  }
  replies_->Commit();
  return true;
}

bool ReplyMatcher::IcmpReply(const ParsedPacket& p, uint8_t flags, double time_ms) {
  uint8_t probe_type;
  if (p.family == 6) {
    if (p.icmp_type != 129) return Stray();
    probe_type = 128;
  } else if (p.icmp_type == 0) {
    probe_type = 8;
  } else if (p.icmp_type == 14) {
    probe_type = 13;
  } else {
    return Stray();
  }
  if (!EchoMatches(p.family, p.src, probe_type, p.icmp_id, p.icmp_seq)) return Stray();
  if (!Accept(p.family, p.proto, 0, probe_type, p.src)) return false;
  Record* r = Begin(RecordKind::kIcmpReply, p.family, flags, time_ms);
  if (r == nullptr) return false;
  uint8_t* b = r->bytes;
  PutAddr(b + rec::kAddr, p.family, p.src);
  StoreLe<uint16_t>(b + rec::kEchoId, p.icmp_id);
  StoreLe<uint16_t>(b + rec::kEchoSeq, p.icmp_seq);
  b[rec::kTtl] = p.ttl;
  b[rec::kIcmpType] = p.icmp_type;
  b[rec::kIcmpCode] = p.icmp_code;
  b[rec::kProto] = p.proto;
  StoreLe<uint16_t>(b + rec::kIpId, p.ip_id);
  // An echo request's payload starts with the send clock (µs mod 2^32, big-endian), echoed back.
  if (probe_type != 13 && p.payload_len >= 4) StoreLe<uint32_t>(b + rec::kEchoedSend, LoadBe32(frame_ + p.payload_offset));
  replies_->Commit();
  return true;
}

bool ReplyMatcher::Neighbor(const ParsedPacket& p, double time_ms) {
  const uint8_t* addr;
  const uint8_t* mac;
  uint8_t family, flags = 0;
  if (p.is_arp) {
    if (p.arp_op != 2 || !Ours(4, p.arp_target_ip)) return Stray();
    family = 4;
    addr = p.arp_sender_ip;
    mac = p.arp_sender_mac;
  } else {
    // A neighbour advertisement to our address (Ours(p.dst) was checked by the caller).
    family = 6;
    flags = record_flag::kNdp;
    addr = p.ndp_target;
    mac = p.has_ndp_mac ? p.ndp_mac : (p.has_mac ? p.src_mac : nullptr);
  }
  if (!Accept(family, 0, 0, 0, addr)) return false;
  Record* r = Begin(RecordKind::kNeighborReply, family, flags, time_ms);
  if (r == nullptr) return false;
  uint8_t* b = r->bytes;
  PutAddr(b + rec::kAddr, family, addr);
  if (mac != nullptr) std::memcpy(b + rec::kMac, mac, 6);
  b[rec::kTtl] = family == 6 ? p.ttl : 0;
  b[rec::kProto] = family == 6 ? kProtoIcmp6 : 0;
  if (family == 6) b[rec::kIcmpType] = p.icmp_type;
  replies_->Commit();
  return true;
}

// ---------------------------------------------------------------- Capture

Capture::Capture(const CaptureConfig& config, std::shared_ptr<RecordRing> replies, SpscRing<AnsweredProbe>* answered)
    : config_(Validate(config)),
      replies_(std::move(replies)),
      answered_(answered),
      matcher_(config_, replies_.get(), answered_, &counters_) {
  if (!replies_) throw CaptureError(EINVAL, "capture: no replies ring");
  Open();
  // The ring's producer from now on, not from Start(): no other thread can attach in
  // between, and the ring's StopProducer() (its close(), the environment's cleanup) reaches
  // this capture whether or not it has started.
  if (!replies_->AttachProducer(this)) {
    Close();
    throw CaptureError(EBUSY, "capture: the replies ring already has a producer thread (one ring per producer)");
  }
  attached_ = true;
}

Capture::~Capture() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);  // only now: RequestStop() may be called from any thread until here
}

void Capture::Open() {
  try {
    ifindex_ = static_cast<int>(if_nametoindex(config_.interface.c_str()));
    if (ifindex_ == 0) {
      throw CaptureError(ENODEV, "capture: no interface \"" + config_.interface + "\" in this network namespace (`ip link` lists them)");
    }
    // Protocol 0: the socket receives nothing until bind() names a protocol, below, after the filter.
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      const int err = errno;
      if (err == EPERM || err == EACCES) {
        throw CaptureError(EPERM, "capture: opening a packet socket needs CAP_NET_RAW: run as root, or `setcap cap_net_raw+ep $(command -v node)`, or use a connect scan");
      }
      throw CaptureError(err, "capture: socket(AF_PACKET): " + Errno(err));
    }
    auto opt = [this](int level, int name, const void* v, socklen_t len, const char* what) {
      if (::setsockopt(fd_, level, name, v, len) != 0) {
        const int err = errno;
        throw CaptureError(err, std::string("capture: setsockopt(") + what + ") on " + config_.interface + ": " + Errno(err));
      }
    };
    std::vector<sock_filter> prog =
        CompileCaptureFilter(FilterSpec{config_.ethernet, config_.src_v4, config_.src_v6, config_.port_first, config_.port_count, config_.mode});
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    opt(SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog, "SO_ATTACH_FILTER");
    const int version = TPACKET_V3;
    opt(SOL_PACKET, PACKET_VERSION, &version, sizeof version, "PACKET_VERSION TPACKET_V3");
    const int one = 1;
    // Our own probes leave through this interface; they are never replies. Kernels before
    // 4.20 lack the option: the filter (addressed to us) and the cookie still reject them.
    if (::setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 && errno != ENOPROTOOPT) {
      const int err = errno;
      throw CaptureError(err, "capture: setsockopt(PACKET_IGNORE_OUTGOING): " + Errno(err));
    }
    tpacket_req3 req{};
    req.tp_block_size = config_.block_size;
    req.tp_block_nr = config_.block_count;
    req.tp_frame_size = kFrameSize;
    req.tp_frame_nr = config_.block_size / kFrameSize * config_.block_count;
    req.tp_retire_blk_tov = config_.retire_ms;
    opt(SOL_PACKET, PACKET_RX_RING, &req, sizeof req, "PACKET_RX_RING");
    map_len_ = size_t{config_.block_size} * config_.block_count;
    void* m = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      map_len_ = 0;
      throw CaptureError(err, "capture: mmap of the " + std::to_string(config_.block_size * config_.block_count) + "-byte ring: " + Errno(err));
    }
    map_ = static_cast<uint8_t*>(m);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
      const int err = errno;
      throw CaptureError(err, "capture: eventfd: " + Errno(err));
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      const int err = errno;
      throw CaptureError(err, "capture: bind to " + config_.interface + ": " + Errno(err));
    }
  } catch (...) {
    Close();
    throw;
  }
}

void Capture::Close() {
  if (map_ != nullptr) ::munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // The eventfd stays open until the destructor: RequestStop() writes to it from other
  // threads (the sender, a ring's StopProducer) and must never hit a closed or reused fd.
}

void Capture::Start() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (stopped_ || started_) throw CaptureError(EINVAL, stopped_ ? "capture: Start() after Stop(): create a new Capture" : "capture: Start() called twice");
  thread_ = std::thread([this] { Run(); });
  started_ = true;
}

void Capture::RequestStop() {
  stop_.store(true, std::memory_order_relaxed);
  if (wake_fd_ >= 0) {
    const uint64_t v = 1;
    ssize_t n = ::write(wake_fd_, &v, sizeof v);
    (void)n;  // EAGAIN: already signalled
  }
}

void Capture::Join() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (thread_.joinable()) thread_.join();
}

void Capture::Stop() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (stopped_) return;
  stopped_ = true;
  const auto t0 = std::chrono::steady_clock::now();
  RequestStop();
  if (thread_.joinable()) thread_.join();
  last_join_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (attached_) replies_->DetachProducer(this);
  attached_ = false;
  Close();
}

// A pending socket error (ENETDOWN when the interface goes down or away) keeps POLLERR set
// until it is read: unread, every poll() would return at once and the thread would spin a
// core. Read it (SO_ERROR clears it), and empty the error queue, and count it.
void Capture::TakeSocketError() {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  uint8_t buf[64];
  for (int i = 0; i < 64; ++i) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
  }
  Bump(counters_.socket_errors);
  counters_.last_socket_errno.store(err, std::memory_order_relaxed);
}

void Capture::ReadStats() {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof st;
  if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0 && st.tp_drops != 0) {
    Bump(counters_.kernel_drops, st.tp_drops);  // the kernel resets the counters on every read
  }
  counters_.softnet_drops.store(softnet_.Poll(), std::memory_order_relaxed);
}

void Capture::Run() {
  softnet_.Start();
  pollfd fds[2] = {{fd_, POLLIN | POLLERR, 0}, {wake_fd_, POLLIN, 0}};
  uint32_t current = 0;
  uint64_t next_stats = MonotonicNs() + kStatsEveryNs;
  while (!stop_.load(std::memory_order_relaxed)) {
    auto* block = reinterpret_cast<tpacket_block_desc*>(map_ + size_t{current} * config_.block_size);
    if ((__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) {
      if (::poll(fds, 2, static_cast<int>(config_.poll_ms)) > 0 && (fds[0].revents & POLLERR) != 0) TakeSocketError();
    } else {
      const uint32_t count = block->hdr.bh1.num_pkts;
      uint32_t offset = block->hdr.bh1.offset_to_first_pkt;
      bool committed = false;
      for (uint32_t i = 0; i < count; ++i) {
        // The kernel writes these offsets; still never read outside the block.
        if (offset < sizeof(tpacket_block_desc) || uint64_t{offset} + sizeof(tpacket3_hdr) > config_.block_size) break;
        const auto* h = reinterpret_cast<const tpacket3_hdr*>(reinterpret_cast<const uint8_t*>(block) + offset);
        if (uint64_t{offset} + h->tp_mac + h->tp_snaplen <= config_.block_size) {
          const double time_ms = static_cast<double>(h->tp_sec) * 1e3 + static_cast<double>(h->tp_nsec) / 1e6;
          committed |= matcher_.Process(reinterpret_cast<const uint8_t*>(h) + h->tp_mac, h->tp_snaplen,
                                        (h->tp_status & TP_STATUS_CSUMNOTREADY) != 0, (h->tp_status & TP_STATUS_CSUM_VALID) != 0, time_ms);
        }
        if (h->tp_next_offset == 0) break;
        offset += h->tp_next_offset;
      }
      if (committed) replies_->Publish();  // one hand-off per block, not per packet
      __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      current = (current + 1) % config_.block_count;
    }
    const uint64_t now = MonotonicNs();
    if (now >= next_stats) {
      ReadStats();
      next_stats = now + kStatsEveryNs;
    }
  }
  ReadStats();
}

}  // namespace portflow::io
