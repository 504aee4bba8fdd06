// The probe engine's capture thread: reads replies from an AF_PACKET TPACKET_V3 ring, parses
// them (parser/), validates each by its cookie (io/cookie.h), drops strays and duplicates, and
// writes reply records (ring/record.h) for JavaScript, one Publish() per ring block. It also
// tells the sender which probes were answered, so retries go only to unanswered ones.
//
// The socket is opened in the constructor (so a missing CAP_NET_RAW fails early, with EPERM):
// created with protocol 0 (it receives nothing yet), the BPF filter (io/bpf.h) attached, the
// RX ring mapped, and only then bound to ETH_P_ALL on the interface: no unfiltered packet
// ever lands in the ring. Outgoing packets are ignored (PACKET_IGNORE_OUTGOING). Blocks are
// retired after `retire_ms`, so a reply waits at most that long for its block to be handed over.
//
// What counts as an answer, per reply (flows are always in the probe's direction: our
// address/port -> the target's; see cookie.h for how probes carry the cookie):
//   TCP       ACK set and ack - 1 == Cookie(tcp flow) (SYN-ACK, RST-ACK), or RST without ACK
//             and seq == Cookie (the reset an ACK probe gets: its ack field must carry the cookie).
//   UDP       the reply's destination port == first + Cookie(udp flow, our port 0) % count.
//   ICMP err  the quoted probe is ours: TCP quoted seq == Cookie; UDP quoted source port as
//             above; ICMP echo/timestamp quoted id/seq as below. Reporter = the error's sender.
//   ICMP echo id << 16 | seq == Cookie(flow {proto 1 / 58, src_port 0, dst_port = the probe's
//   /timestamp ICMP type: 8 echo, 13 timestamp, 128 ICMPv6 echo}).
//   ARP / NDP an ARP reply to our IPv4 address or a neighbour advertisement to our IPv6 address
//             (no cookie: the filter already limits them to replies addressed to us).
// AnsweredProbe (and the duplicate table) use the same flow: TCP/UDP with our port and the
// target's; ICMP with src_port 0 and dst_port the probe's ICMP type; neighbour probes with
// proto 0 and both ports 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/owned_thread.h"
#include "io/bpf.h"
#include "io/cookie.h"
#include "io/recent_flows.h"
#include "io/softnet.h"
#include "packet/templates.h"
#include "parser/parser.h"
#include "ring/record_ring.h"
#include "ring_buffer.h"

namespace portflow::io {

struct CaptureConfig {
  std::string interface;      // bind to this interface (ifindex looked up here)
  bool ethernet = true;       // Ethernet framing (also loopback's zero-MAC header); false: raw IP (tun)
  IpAddress src_v4, src_v6;   // our addresses (family 0 = absent): replies go to them
  uint16_t port_first = 0, port_count = 0;  // our source ports (TCP/UDP replies come back to them)
  uint8_t mode = kModeTcpSyn; // 0 tcp-syn, 1 udp, 2 discovery
  CookieKey key;
  uint32_t block_size = 1 << 16, block_count = 64, retire_ms = 1;
  uint32_t recent_flows = 1 << 16;  // duplicate table slots (power of two, 8 bytes each)
  uint32_t poll_ms = 100;           // longest wait in poll(); Stop() wakes it at once anyway
};

// A matched probe flow in the probe's direction, so the sender can retire it from its window.
struct AnsweredProbe {
  uint8_t family, proto;
  uint16_t src_port, dst_port;
  uint8_t dst[16];
};

// Written by the capture thread only (relaxed), readable from any thread at any time.
struct CaptureCounters {
  std::atomic<uint64_t> received{0};      // packets read from the ring (they passed the filter)
  std::atomic<uint64_t> matched{0};       // replies whose cookie matched, first answer of their flow
  std::atomic<uint64_t> duplicates{0};    // matched replies to a flow answered recently: dropped
  std::atomic<uint64_t> strays{0};        // parsed, passed the filter, but no probe of ours
  std::atomic<uint64_t> parse_errors{0};  // truncated / malformed / bad checksum: dropped
  std::atomic<uint64_t> kernel_drops{0};  // PACKET_STATISTICS tp_drops, accumulated
  std::atomic<uint64_t> softnet_drops{0}; // /proc/net/softnet_stat drops since the capture started
  std::atomic<uint64_t> answered_full{0}; // AnsweredProbe notices skipped because the queue was full
  std::atomic<uint64_t> socket_errors{0}; // errors the socket reported (ENETDOWN: the interface went down or away)
  std::atomic<int> last_socket_errno{0};
};

class CaptureError : public std::runtime_error {
 public:
  CaptureError(int error, const std::string& message) : std::runtime_error(message), err(error) {}
  int err;  // errno; EPERM: no CAP_NET_RAW; ENODEV: no such interface; EINVAL: bad config
};

// Matching and record writing, without the socket: the capture thread runs one per capture,
// and tests feed it crafted frames. Single-threaded.
class ReplyMatcher {
 public:
  ReplyMatcher(const CaptureConfig& config, RecordRing* replies, SpscRing<AnsweredProbe>* answered, CaptureCounters* counters);

  // One captured frame. `checksum_not_ready`: TP_STATUS_CSUMNOTREADY (the L4 checksum is
  // only partial, as lo and veth deliver locally sent packets); `checksum_valid`:
  // TP_STATUS_CSUM_VALID (the device checked it). Returns true if a record was committed
  // (the caller publishes once per batch).
  bool Process(const uint8_t* frame, size_t len, bool checksum_not_ready, bool checksum_valid, double time_ms);

 private:
  bool Ours(uint8_t family, const uint8_t* addr) const;
  const uint8_t* OurAddr(uint8_t family) const { return family == 6 ? config_.src_v6.bytes : config_.src_v4.bytes; }
  uint16_t UdpPortFor(uint8_t family, uint16_t dst_port, const uint8_t* dst) const;
  bool EchoMatches(uint8_t family, const uint8_t* dst, uint8_t probe_type, uint16_t id, uint16_t seq) const;
  // Counts the match (or the duplicate) and tells the sender; false for a duplicate.
  bool Accept(uint8_t family, uint8_t proto, uint16_t src_port, uint16_t dst_port, const uint8_t* dst);
  bool Tcp(const ParsedPacket& p, uint8_t flags, double time_ms);
  bool Udp(const ParsedPacket& p, uint8_t flags, double time_ms);
  bool IcmpError(const ParsedPacket& p, uint8_t flags, double time_ms);
  bool IcmpReply(const ParsedPacket& p, uint8_t flags, double time_ms);
  bool Neighbor(const ParsedPacket& p, double time_ms);
  bool Stray();
  bool InPortRange(uint16_t port) const;
  Record* Begin(RecordKind kind, uint8_t family, uint8_t flags, double time_ms);

  CaptureConfig config_;
  LinkType link_;
  RecordRing* replies_;
  SpscRing<AnsweredProbe>* answered_;
  CaptureCounters* counters_;
  RecentFlows recent_;
  ParsedPacket parsed_;
  const uint8_t* frame_ = nullptr;  // the frame being processed (payload reads)
  size_t frame_len_ = 0;
};

class Capture : public OwnedThread {
 public:
  // Opens the socket, attaches the filter, maps the ring, binds, and attaches itself as the
  // replies ring's producer (CaptureError EBUSY if it has one). Throws CaptureError.
  Capture(const CaptureConfig& config, std::shared_ptr<RecordRing> replies, SpscRing<AnsweredProbe>* answered);
  ~Capture() override;  // Stop()
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  void Start();  // spawns the thread; once (throws CaptureError EINVAL after Stop())
  void Stop();   // idempotent; joins; closes the socket; unmaps the ring

  // OwnedThread, so an environment's cleanup hook (or RecordRing::StopProducer) can stop it.
  void RequestStop() override;
  void Join() override;

  const CaptureCounters& counters() const { return counters_; }
  uint64_t ReadKernelDrops() const { return counters_.kernel_drops.load(std::memory_order_relaxed); }
  int ifindex() const { return ifindex_; }
  // Milliseconds the last Stop() waited for the thread to finish (for tests of promptness).
  double last_join_ms() const { return last_join_ms_; }

 private:
  void Open();
  void Close();
  void Run();
  void ReadStats();
  void TakeSocketError();

  CaptureConfig config_;
  std::shared_ptr<RecordRing> replies_;
  SpscRing<AnsweredProbe>* answered_;
  CaptureCounters counters_;
  ReplyMatcher matcher_;
  SoftnetDrops softnet_;
  int ifindex_ = 0;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes poll() at once
  uint8_t* map_ = nullptr;
  size_t map_len_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  // Start/Join/Stop may come from different threads (the JS thread, an environment's cleanup
  // hook, a ring's StopProducer); the thread's own RequestStop() takes no lock.
  std::mutex state_mu_;
  bool started_ = false, stopped_ = false, attached_ = false;
  double last_join_ms_ = 0;
};

}  // namespace portflow::io
