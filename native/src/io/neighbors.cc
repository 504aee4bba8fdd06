#include "io/neighbors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string_view>
#include <unordered_map>

#include "parser/parser.h"

namespace portflow::io {

namespace {

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
// Pacing and deadlines.
int64_t NowNs() { return ClockNs(CLOCK_MONOTONIC); }
// Latency: the kernel stamps received frames (SO_TIMESTAMPNS) in CLOCK_REALTIME, so sends
// are stamped on that clock too, just before sendto(). On veth a reply can be queued
// before sendto() even returns; reading it later must not add our own delay.
int64_t WallNs() { return ClockNs(CLOCK_REALTIME); }

thread_local int last_errnum = 0;

std::string Errno(const char* what, int err) {
  last_errnum = err;
  return std::string(what) + ": " + std::strerror(err);
}

// Classic BPF: ARP replies (ethertype 0x0806, op 2) and ICMPv6 neighbour advertisements
// (ethertype 0x86dd, next header 58 right after the fixed header, type 136). Everything
// else stays in the kernel; the code below checks again with the parser.
constexpr sock_filter kFilter[] = {
    {0x28, 0, 0, 12},      // 0: ldh [12]            ethertype
    {0x15, 0, 2, 0x0806},  // 1: jeq ARP ? 2 : 4
    {0x28, 0, 0, 20},      // 2: ldh [20]            ARP op
    {0x15, 5, 6, 2},       // 3: jeq reply ? 9 : 10
    {0x15, 0, 5, 0x86dd},  // 4: jeq IPv6 ? 5 : 10
    {0x30, 0, 0, 20},      // 5: ldb [20]            next header
    {0x15, 0, 3, 58},      // 6: jeq ICMPv6 ? 7 : 10
    {0x30, 0, 0, 54},      // 7: ldb [54]            ICMPv6 type
    {0x15, 0, 1, 136},     // 8: jeq NA ? 9 : 10
    {0x06, 0, 0, 0xffff},  // 9: accept
    {0x06, 0, 0, 0},       // 10: drop
};

class PacketSocket {
 public:
  ~PacketSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Protocol 0 until the filter is attached, then bound to the interface for every
  // protocol: no frame that the filter would have refused is ever queued.
  std::string Open(uint32_t ifindex) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return Errno("socket(AF_PACKET, SOCK_RAW)", errno);
    sock_fprog prog{static_cast<unsigned short>(sizeof(kFilter) / sizeof(kFilter[0])), const_cast<sock_filter*>(kFilter)};
    if (::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) return Errno("SO_ATTACH_FILTER", errno);
    int one = 1;
    // Our own requests never match the filter; skipping outgoing frames saves the copy.
    (void)::setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    if (::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) return Errno("SO_TIMESTAMPNS", errno);
    addr_.sll_family = AF_PACKET;
    addr_.sll_protocol = htons(ETH_P_ALL);
    addr_.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)) < 0) return Errno("bind(AF_PACKET) to the interface", errno);
    return {};
  }
  int fd() const { return fd_; }
  const sockaddr_ll& addr() const { return addr_; }

 private:
  int fd_ = -1;
  sockaddr_ll addr_{};
};

std::string Key(uint8_t family, const uint8_t* bytes) {
  return std::string(reinterpret_cast<const char*>(bytes), family == 4 ? 4 : 16) + static_cast<char>(family);
}

std::string Resolve(const NeighborRequest& req, std::vector<NeighborAnswer>* answers, NeighborStats* stats);

}  // namespace

std::string ResolveNeighbors(const NeighborRequest& req, std::vector<NeighborAnswer>* answers, NeighborStats* stats) {
  answers->clear();
  *stats = NeighborStats{};
  last_errnum = 0;
  std::string err = Resolve(req, answers, stats);
  stats->errnum = err.empty() ? 0 : last_errnum;
  return err;
}

namespace {

std::string Resolve(const NeighborRequest& req, std::vector<NeighborAnswer>* answers, NeighborStats* stats) {
  const size_t n = req.addresses.size();
  if (n == 0) return {};
  if (req.rate == 0) return "rate must be at least 1 request per second";

  std::unordered_map<std::string, uint32_t> index;
  index.reserve(n);
  for (uint32_t i = 0; i < n; i++) index.emplace(Key(req.addresses[i].family, req.addresses[i].bytes), i);

  PacketSocket sock;
  if (std::string err = sock.Open(req.ifindex); !err.empty()) return err;

  // Every frame is built once up front: requests differ only in the target.
  constexpr size_t kFrameCap = kEthernetHeaderLen + kIpv6HeaderLen + kNdpSolicitLen;
  std::vector<uint8_t> frames(n * kFrameCap);
  std::vector<uint16_t> frame_len(n);
  for (size_t i = 0; i < n; i++) {
    const IpAddress& a = req.addresses[i];
    Layout layout;
    BuildStatus st = a.family == 4 ? BuildArpRequest(&frames[i * kFrameCap], kFrameCap, req.src_mac, req.src_v4, a.bytes, &layout)
                                   : BuildNdpSolicit(&frames[i * kFrameCap], kFrameCap, req.src_mac, req.src_v6, a.bytes, &layout);
    if (st != BuildStatus::kOk) return std::string("building a neighbour request: ") + BuildStatusMessage(st);
    frame_len[i] = static_cast<uint16_t>(layout.length);
  }

  std::vector<int64_t> last_sent(n, 0);
  std::vector<int64_t> prev_sent(n, 0);  // the try before the last: a reply stamped before the resend answers it
  std::vector<uint8_t> answered(n, 0);
  size_t answered_count = 0;
  uint8_t rx[2048];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(timespec))];
  ParsedPacket p;
  ParseOptions popts;
  popts.verify_checksums = false;

  // Reads every queued reply; returns an error text or empty.
  auto read_replies = [&]() -> std::string {
    for (;;) {
      iovec iov{rx, sizeof(rx)};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      const ssize_t got = ::recvmsg(sock.fd(), &msg, 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
        if (errno == EINTR) continue;
        return Errno("recvmsg(AF_PACKET)", errno);
      }
      int64_t now = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
          now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
        }
      }
      if (now == 0) now = WallNs();
      stats->received++;
      if (ParsePacket(rx, static_cast<size_t>(got), popts, &p) != ParseError::kNone) continue;
      const uint8_t* mac = nullptr;
      std::string key;
      if (p.is_arp && p.arp_op == 2) {
        key = Key(4, p.arp_sender_ip);
        mac = p.arp_sender_mac;
      } else if (p.is_ndp && p.icmp_type == 136 && p.ttl == 255) {  // RFC 4861 §7.1.2: hop limit 255 only
        key = Key(6, p.ndp_target);
        mac = p.has_ndp_mac ? p.ndp_mac : p.has_mac ? p.src_mac : nullptr;
      }
      if (!mac || (mac[0] & 1)) continue;  // no address, or a multicast one: not a neighbour's MAC
      auto it = index.find(key);
      if (it == index.end() || answered[it->second] || last_sent[it->second] == 0) continue;
      answered[it->second] = 1;
      answered_count++;
      NeighborAnswer a;
      a.index = it->second;
      std::memcpy(a.mac, mac, 6);
      const int64_t sent_at = now >= last_sent[it->second] || prev_sent[it->second] == 0 ? last_sent[it->second] : prev_sent[it->second];
      a.latency_ms = static_cast<double>(now - sent_at) / 1e6;
      answers->push_back(a);
    }
  };

  const auto cancelled = [&] { return req.cancel != nullptr && req.cancel->load(std::memory_order_relaxed); };
  constexpr int64_t kCancelCheckNs = 50000000;  // waits are sliced so a cancel ends them soon
  auto wait_until = [&](int64_t deadline_ns) -> std::string {
    const int64_t now = NowNs();
    if (deadline_ns <= now) return read_replies();
    int64_t d = deadline_ns - now;
    if (req.cancel != nullptr && d > kCancelCheckNs) d = kCancelCheckNs;
    timespec ts{static_cast<time_t>(d / 1000000000), static_cast<long>(d % 1000000000)};
    pollfd pfd{sock.fd(), POLLIN, 0};
    if (::ppoll(&pfd, 1, &ts, nullptr) < 0 && errno != EINTR) return Errno("ppoll", errno);
    return read_replies();
  };

  const double ns_per_request = 1e9 / req.rate;
  constexpr int64_t kBackpressureLimitNs = 1000000000;  // a send queue full for 1 s is an error
  std::vector<uint32_t> round;
  round.reserve(n);
  for (uint32_t attempt = 0; attempt <= req.retries && answered_count < n && !cancelled(); attempt++) {
    round.clear();
    for (uint32_t i = 0; i < n; i++)
      if (!answered[i]) round.push_back(i);
    const int64_t start = NowNs();
    uint64_t sent_in_round = 0;
    int64_t blocked_since = 0;
    for (size_t at = 0; at < round.size() && !cancelled();) {
      // Token bucket: the requests due by now, at most 64 per burst.
      const int64_t now = NowNs();
      uint64_t due = static_cast<uint64_t>(static_cast<double>(now - start) / ns_per_request) + 1;
      uint64_t allowed = due > sent_in_round ? due - sent_in_round : 0;
      if (allowed > 64) allowed = 64;
      for (; allowed > 0 && at < round.size(); at++) {
        const uint32_t i = round[at];
        if (answered[i]) continue;  // answered during this round (a late reply to the last)
        const int64_t previous = last_sent[i];
        prev_sent[i] = previous;
        last_sent[i] = WallNs();
        const ssize_t s = ::sendto(sock.fd(), &frames[i * kFrameCap], frame_len[i], 0,
                                   reinterpret_cast<const sockaddr*>(&sock.addr()), sizeof(sockaddr_ll));
        if (s < 0) {
          last_sent[i] = previous;  // not sent after all
          if (errno == ENOBUFS || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (!blocked_since) blocked_since = NowNs();
            else if (NowNs() - blocked_since > kBackpressureLimitNs) return Errno("sendto(AF_PACKET): the send queue stayed full", errno);
            break;  // retry this address after a pause
          }
          return Errno("sendto(AF_PACKET)", errno);
        }
        blocked_since = 0;
        stats->sent++;
        sent_in_round++;
        allowed--;
      }
      if (std::string err = read_replies(); !err.empty()) return err;
      if (at < round.size()) {
        const int64_t next = start + static_cast<int64_t>(static_cast<double>(sent_in_round) * ns_per_request);
        const int64_t pause = blocked_since ? NowNs() + 1000000 : next;  // 1 ms when the queue was full
        if (std::string err = wait_until(pause); !err.empty()) return err;
      }
    }
    const int64_t deadline = NowNs() + static_cast<int64_t>(req.timeout_ms) * 1000000;
    while (answered_count < n && !cancelled()) {
      if (NowNs() >= deadline) break;
      if (std::string err = wait_until(deadline); !err.empty()) return err;
    }
  }
  return {};
}

}  // namespace

}  // namespace portflow::io
