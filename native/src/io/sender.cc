#include "io/sender.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36  // linux/in6.h, since Linux 4.5
#endif

namespace portflow::io {

namespace {

constexpr uint32_t kMaxBatch = 1024;
constexpr char kPermissionFix[] =
    "raw sockets need CAP_NET_RAW: run as root, give node the capability "
    "(setcap cap_net_raw+ep \"$(command -v node)\"), or use a connect scan";

[[noreturn]] void Throw(int e, const std::string& what) {
  if (e == EPERM || e == EACCES) throw SocketError(EPERM, std::string("probe engine: ") + what + ": " + kPermissionFix);
  throw SocketError(e, std::string("probe engine: ") + what + ": " + std::strerror(e));
}

void BindToDevice(int fd, const std::string& interface) {
  if (interface.empty()) return;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(), static_cast<socklen_t>(interface.size())) != 0)
    Throw(errno, "SO_BINDTODEVICE " + interface);
}

void BigSendBuffer(int fd) {
  // A deep socket buffer lets one sendmmsg batch in without ENOBUFS on every call;
  // SO_SNDBUFFORCE (root) ignores wmem_max, SO_SNDBUF is the fallback.
  int bytes = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void SleepMicros(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace

void Fd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void ThrowIfNoRawSocket() {
  Fd probe(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (probe.get() < 0) Throw(errno, "socket(AF_INET, SOCK_RAW)");
}

SendSockets::SendSockets(bool ethernet, const std::string& interface, int ifindex, bool v4, bool v6)
    : ethernet_(ethernet), msgs_(kMaxBatch), iovs_(kMaxBatch), addrs_(kMaxBatch) {
  if (ethernet) {
    packet_ = Fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (packet_.get() < 0) Throw(errno, "socket(AF_PACKET, SOCK_RAW)");
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = 0;  // send only: no receive queue fills up behind our back
    sll.sll_ifindex = ifindex;
    if (bind(packet_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
      Throw(errno, "bind AF_PACKET to " + interface + " (ifindex " + std::to_string(ifindex) + ")");
    int one = 1;
    // Skipping the qdisc is most of the gain over raw IP sockets (no qdisc lock per packet).
    if (setsockopt(packet_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
      Throw(errno, "PACKET_QDISC_BYPASS");
    BigSendBuffer(packet_.get());
    return;
  }
  if (v4) {
    raw4_ = Fd(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));  // IPPROTO_RAW implies IP_HDRINCL
    if (raw4_.get() < 0) Throw(errno, "socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
    // Without IP_RECVERR a raw socket reports a qdisc drop (ENOBUFS) as success: the
    // probe would vanish. IPPROTO_RAW sockets receive no ICMP errors, so nothing queues.
    int on = 1;
    if (setsockopt(raw4_.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0) Throw(errno, "IP_RECVERR");
    BindToDevice(raw4_.get(), interface);
    BigSendBuffer(raw4_.get());
  }
  if (v6) {
    raw6_ = Fd(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
    if (raw6_.get() < 0) Throw(errno, "socket(AF_INET6, SOCK_RAW, IPPROTO_RAW)");
    int one = 1;
    if (setsockopt(raw6_.get(), IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) != 0) Throw(errno, "IPV6_HDRINCL");
    if (setsockopt(raw6_.get(), IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) != 0) Throw(errno, "IPV6_RECVERR");  // as IP_RECVERR
    BindToDevice(raw6_.get(), interface);
    BigSendBuffer(raw6_.get());
  }
}

uint32_t SendSockets::SendRun(int fd, mmsghdr* msgs, uint32_t n, const std::atomic<bool>& stop, SendCounters& counters) {
  uint32_t done = 0, accepted = 0;
  long backoff_us = 20;
  while (done < n) {
    const int r = sendmmsg(fd, msgs + done, n - done, 0);
    if (r > 0) {
      done += static_cast<uint32_t>(r);
      accepted += static_cast<uint32_t>(r);
      backoff_us = 20;
      continue;
    }
    const int e = r < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    if (e == ENOBUFS || e == EAGAIN) {
      // The device queue is full: wait a little and send the same packet again.
      counters.backpressure.fetch_add(1, std::memory_order_relaxed);
      if (stop.load(std::memory_order_relaxed)) break;
      SleepMicros(backoff_us);
      if (backoff_us < 1000) backoff_us *= 2;
      continue;
    }
    // This packet cannot go (no route, rejected by a local filter, ...): count it and go on.
    counters.errors.fetch_add(1, std::memory_order_relaxed);
    ++done;
  }
  return accepted;
}

uint32_t SendSockets::Send(uint8_t* const* packets, const uint32_t* lengths, const uint8_t* family, const uint8_t* const* dst,
                           uint32_t n, const std::atomic<bool>& stop, SendCounters& counters) {
  uint32_t accepted = 0;
  for (uint32_t base = 0; base < n; base += kMaxBatch) {
    const uint32_t m = n - base < kMaxBatch ? n - base : kMaxBatch;
    if (ethernet_) {
      for (uint32_t i = 0; i < m; ++i) {
        iovs_[i] = iovec{packets[base + i], lengths[base + i]};
        msgs_[i] = mmsghdr{};
        msgs_[i].msg_hdr.msg_iov = &iovs_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      accepted += SendRun(packet_.get(), msgs_.data(), m, stop, counters);
      continue;
    }
    // Raw IP: runs of one family go to that family's socket, in order.
    uint32_t i = 0;
    while (i < m) {
      const uint8_t fam = family[base + i];
      uint32_t k = 0;
      for (; i < m && family[base + i] == fam; ++i, ++k) {
        iovs_[k] = iovec{packets[base + i], lengths[base + i]};
        msgs_[k] = mmsghdr{};
        msgs_[k].msg_hdr.msg_iov = &iovs_[k];
        msgs_[k].msg_hdr.msg_iovlen = 1;
        sockaddr_in6& a = addrs_[k];
        std::memset(&a, 0, sizeof a);
        if (fam == 6) {
          a.sin6_family = AF_INET6;  // sin6_port 0: required with IPPROTO_RAW
          std::memcpy(&a.sin6_addr, dst[base + i], 16);
          msgs_[k].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
        } else {
          auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
          a4->sin_family = AF_INET;
          std::memcpy(&a4->sin_addr, dst[base + i], 4);
          msgs_[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        }
        msgs_[k].msg_hdr.msg_name = &a;
      }
      const int fd = fam == 6 ? raw6_.get() : raw4_.get();
      if (fd < 0) {
        counters.errors.fetch_add(k, std::memory_order_relaxed);
        continue;
      }
      accepted += SendRun(fd, msgs_.data(), k, stop, counters);
    }
  }
  return accepted;
}

}  // namespace portflow::io
