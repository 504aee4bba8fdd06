// The sockets the sender thread writes probes to, and the batched send.
//   ethernet: one AF_PACKET SOCK_RAW socket (protocol 0: it never receives) bound to the
//             interface, PACKET_QDISC_BYPASS on, frames carry our own Ethernet header.
//   ip:       raw IP sockets with the IP header included (IPPROTO_RAW for IPv4,
//             IPv6 raw + IPV6_HDRINCL), bound to the interface: loopback, tun, fallback.
// Batches go out with sendmmsg. ENOBUFS / EAGAIN (the device queue is full) are waited
// out with short sleeps and counted; no probe is dropped silently: any other error on a
// packet counts it in send_errors, and that probe ends as NoAnswer after its retries.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace portflow::io {

// A socket call the kernel refused; err is the errno (EPERM: no CAP_NET_RAW).
class SocketError : public std::runtime_error {
 public:
  SocketError(int e, const std::string& what) : std::runtime_error(what), err(e) {}
  int err;
};

struct SendCounters {
  std::atomic<uint64_t> backpressure{0};  // ENOBUFS/EAGAIN waits
  std::atomic<uint64_t> errors{0};        // packets the kernel refused for another reason
};

// One file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset();

 private:
  int fd_ = -1;
};

class SendSockets {
 public:
  // Opens what the layer needs (v4 / v6 only for the families with a source address).
  // Throws SocketError.
  SendSockets(bool ethernet, const std::string& interface, int ifindex, bool v4, bool v6);

  bool ethernet() const { return ethernet_; }

  // Sends `n` packets: packets[i] of lengths[i] bytes, family[i] 4/6, dst[i] the target
  // address (used by the ip layer). Returns when every packet was handed to the kernel or
  // refused with an error other than ENOBUFS/EAGAIN, or when *stop turns true.
  // Returns the number of packets the kernel accepted.
  uint32_t Send(uint8_t* const* packets, const uint32_t* lengths, const uint8_t* family, const uint8_t* const* dst,
                uint32_t n, const std::atomic<bool>& stop, SendCounters& counters);

 private:
  uint32_t SendRun(int fd, mmsghdr* msgs, uint32_t n, const std::atomic<bool>& stop, SendCounters& counters);

  bool ethernet_;
  Fd packet_, raw4_, raw6_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_in6> addrs_;  // big enough for both families
};

// Without CAP_NET_RAW: throws SocketError(EPERM) with the message the contract names.
void ThrowIfNoRawSocket();

}  // namespace portflow::io
