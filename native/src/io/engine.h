// The probe engine's native core: the sender thread (walks its own copy of the scan job,
// crafts probes from templates, paces, keeps the in-flight window, resends unanswered
// probes, writes NoAnswer / RetriesSent / Counters records to the outcomes ring) and the
// capture thread it starts with it (replies → the replies ring, answered flows → the
// sender through an SPSC queue). See docs/ARCHITECTURE.md, "Probe engine".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/owned_thread.h"
#include "io/capture.h"
#include "io/cookie.h"
#include "io/host_set.h"
#include "io/next_hop.h"
#include "io/pacer.h"
#include "io/sender.h"
#include "io/window.h"
#include "job/scan_job.h"
#include "packet/templates.h"
#include "ring/record_ring.h"
#include "ring_buffer.h"

namespace portflow::io {

enum class EngineMode : uint8_t { kSyn = 0, kUdp = 1, kDiscovery = 2 };
enum class ProbeType : uint8_t { kSyn, kUdp, kIcmpEcho, kIcmpTimestamp, kAck, kArp, kNdp };
enum class DiscoveryMethod : uint8_t { kIcmpEcho, kIcmpTimestamp, kTcpSyn, kTcpAck, kArp, kNdp };

struct DiscoverySpec {
  DiscoveryMethod method = DiscoveryMethod::kIcmpEcho;
  uint16_t port = 0;
};

struct EngineConfig {
  EngineMode mode = EngineMode::kSyn;
  // The job: layout words as job_binding takes them, and where to start and stop.
  std::vector<uint32_t> segments, block_bits, ports;
  uint64_t seed = 0;
  bool natural = false;
  job::ShardSpec shard;
  uint64_t position = 0;
  uint64_t end = UINT64_MAX;  // clamped to the shard's length
  // The link.
  std::string interface;
  int ifindex = 0;
  bool ethernet = false;
  uint8_t src_mac[6] = {};
  bool has_v4 = false, has_v6 = false;
  IpAddress src_v4, src_v6;
  std::vector<RouteEntry> routes;
  std::vector<NeighborEntry> neighbors;
  uint32_t mtu = 1500;
  uint16_t port_first = 61000, port_count = 4536;
  double rate = 1000;
  uint32_t max_retries = 1;
  double initial_rtt_ms = 1000, min_rtt_ms = 100, max_rtt_ms = 3000;
  uint32_t window = 65536;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> udp_payloads;
  std::vector<DiscoverySpec> discovery;
  CookieKey key;
  uint8_t ttl = 64;
  uint32_t linger_ms = 250;
  uint32_t ring_capacity = 65536;  // of the answered queue
  bool capture = true;             // false: sender only (its own tests and benchmarks)
};

// A reason the config cannot work; `option` names the ProbeEngineOptions field.
class EngineConfigError : public std::runtime_error {
 public:
  EngineConfigError(std::string opt, const std::string& what) : std::runtime_error(what), option(std::move(opt)) {}
  std::string option;
};

// A call the engine's state does not allow (Start() after Join()).
class EngineStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct EngineCounters {
  uint64_t sent, probes, retries, received, matched, duplicates, strays, ring_overflows, kernel_drops, softnet_drops,
      send_backpressure, send_errors, no_route, answered_full, low_water, high_water, in_flight, skipped, capture_errors;
  double achieved_rate;
};

class Engine : public OwnedThread {
 public:
  // Validates the config (EngineConfigError), opens the sockets (SocketError, EPERM
  // without CAP_NET_RAW). Nothing runs until Start().
  Engine(EngineConfig cfg, std::shared_ptr<RecordRing> replies, std::shared_ptr<RecordRing> outcomes,
         std::function<void()> on_finished);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void Start();
  void Pause() { paused_.store(true, std::memory_order_relaxed); }
  void Resume() { paused_.store(false, std::memory_order_relaxed); }
  void SetRate(double pps) { pacer_.SetRate(pps); }
  // Hosts the scanner gave up on (its host timeout): from the sender's next batch on, no first
  // try and no resend goes to them; their positions become final without a record (the
  // scanner has made them final itself). Any thread; the sender takes them in between batches.
  void SkipHosts(const std::vector<IpAddress>& hosts);
  void RequestStop() override { stop_.store(true, std::memory_order_relaxed); }
  // Joins the sender, stops and joins capture, closes the sockets. Idempotent.
  void Join() override;

  bool finished() const { return finished_.load(std::memory_order_acquire); }
  EngineCounters counters() const;
  // The queue the capture thread pushes answered flows into (one producer).
  SpscRing<AnsweredProbe>& answered() { return answered_; }
  uint64_t length() const { return end_; }

 private:
  struct Slot;
  void Run();
  void DrainAnswered(uint64_t now_ns);
  void Finalize(int32_t e, uint8_t tries_sent);
  void NoAnswer(uint8_t family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port, uint8_t proto, uint8_t type_byte,
                uint32_t probes);
  void WriteCounters();
  // Prepares a new in-flight entry for a probe; false when it has no path (already final).
  bool Admit(const job::Probe& p, uint64_t position, int32_t* entry);
  // Writes entry e's packet into slot i; false if the packet cannot be built.
  bool Craft(uint32_t i, const InFlight& f);
  uint64_t RtoNs() const;
  static uint8_t TypeByte(ProbeType type, uint16_t dst_port);
  void PublishWater();
  void TakeSkips();

  EngineConfig cfg_;
  std::shared_ptr<RecordRing> replies_, outcomes_;
  std::function<void()> on_finished_;
  job::ScanJob job_;
  uint64_t end_ = 0;
  NextHops hops_;
  std::unique_ptr<SendSockets> sockets_;
  Window window_;
  Pacer pacer_;
  RateMeter meter_;
  SpscRing<AnsweredProbe> answered_;  // capture → sender: flows answered
  std::unique_ptr<Capture> capture_;

  // Templates built once; Craft copies and patches them.
  uint8_t syn_tmpl_[2][128] = {};
  Layout syn_layout_[2] = {};
  std::vector<int32_t> payload_of_port_;  // port -> index into cfg_.udp_payloads, -1: empty datagram

  // Per batch slots (no allocation while running).
  uint32_t slot_size_ = 0;
  std::vector<uint8_t> slot_mem_;
  std::vector<uint8_t*> slot_ptr_;
  std::vector<uint32_t> slot_len_;
  std::vector<uint8_t> slot_family_;
  std::vector<const uint8_t*> slot_dst_;
  std::vector<job::Probe> probes_;

  // RTT estimate (sender thread only), ns.
  double srtt_ns_ = 0, rttvar_ns_ = 0;
  bool have_rtt_ = false;
  uint64_t pending_retries_ = 0;
  uint64_t last_counters_ns_ = 0;
  uint16_t ip_id_ = 1;
  HostSet skip_;  // sender thread only
  std::mutex skip_mu_;
  std::vector<IpAddress> skip_pending_;  // under skip_mu_
  std::atomic<bool> skip_new_{false};
  double batch_time_ms_ = 0;  // wall clock of the current loop, for records
  uint32_t send_clock_us_ = 0;  // SendClockMicros() of the current batch (TSval, echo payload)

  std::thread thread_;
  std::mutex join_mu_;
  bool joined_ = false;
  std::atomic<bool> stop_{false}, paused_{false}, finished_{false}, started_{false};
  SendCounters send_counters_;
  std::atomic<uint64_t> sent_{0}, probes_sent_{0}, retries_{0}, no_route_{0}, skipped_{0};
  std::atomic<uint64_t> low_water_{0}, high_water_{0}, in_flight_{0};
  std::atomic<double> achieved_rate_{0};
};

}  // namespace portflow::io
