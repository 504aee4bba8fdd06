// The connect-scan engine: one native thread that walks its own copy of the scan job and
// runs non-blocking TCP connects through the kernel (no privileges), at most `concurrency`
// in flight, watched with epoll. Each probe's outcome becomes one 64-byte record in the
// engine's RecordRing (docs/ARCHITECTURE.md, "Native record format"):
//
//   connected                          TcpReply, tcpFlags SYN|ACK             (open)
//   connected to itself                TcpReply, tcpFlags SYN alone            (closed: a TCP
//     (local addr:port == remote)        the only "answer" was our own SYN       self-connect)
//   ECONNREFUSED                       TcpReply, tcpFlags RST|ACK              (closed)
//   ECONNRESET                         TcpReply, tcpFlags RST                  (closed, reset)
//   ENETUNREACH, ENONET                IcmpError dest-unreachable, net / no route
//   EHOSTUNREACH, EHOSTDOWN            IcmpError dest-unreachable, host / address
//   EACCES, EPERM                      IcmpError dest-unreachable, admin prohibited
//   no answer after the last retry     NoAnswer (probes sent), errno 0
//   ETIMEDOUT / any other errno        NoAnswer (probes sent) with that errno
//
// Every such record carries record_flag::kJobPosition and the probe's job position (f64 at
// byte 56). A resend writes a RetriesSent record naming the probe and its attempt number.
// Local shortages (EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ...) say nothing about the
// target: the probe is queued again and fewer connects are kept in flight for a while.
//
// Why a native thread: on loopback 61% of a Node-socket connect scan was the kernel's
// connect/close work and most of the rest Node's per-socket objects and callbacks; here a
// probe costs socket + connect + close (plus epoll only when the answer is not immediate).
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/owned_thread.h"
#include "io/host_set.h"
#include "job/scan_job.h"
#include "ring/record_ring.h"

namespace portflow::connect {

struct ConnectOptions {
  uint32_t concurrency = 1024;   // connects in flight at most
  uint32_t max_retries = 2;      // resends of an unanswered probe
  double initial_timeout_ms = 1000;
  double min_timeout_ms = 100;
  double max_timeout_ms = 10000;
  uint64_t end = 0;              // hand out positions below this (extended with SetEnd)
  std::vector<uint64_t> skip;    // sorted positions not to probe (already reported by a run this one resumes)
  uint16_t producer_id = 0;
  bool start_paused = false;
};

// Indices of the status snapshot (ReadStatus) — mirrored by ts/connect-engine.ts.
enum StatusIndex : int {
  kStSent = 0,          // connects started (first tries + retries)
  kStReceived,          // answers (connected, refused, reset, unreachable)
  kStRetries,           // resends started
  kStBytes,             // SYN bytes at the IP layer (60 IPv4, 80 IPv6, as Linux builds them)
  kStInFlight,
  kStRetriesPending,    // probes queued to be sent again
  kStHighWater,         // next position of the job to hand out
  kStLimit,             // current cap on connects in flight (lowered by shortages)
  kStSrtt,              // ms
  kStRttvar,            // ms
  kStTimeout,           // ms
  kStTimeouts,          // probes that timed out (each try)
  kStSelfConnects,
  kStShortages,         // local-shortage events
  kStFatalErrno,        // nonzero: the engine gave up (every connect fails with it even one at a time)
  kStDone,              // 1 when every position is final (or the engine gave up), records published
  kStConcurrency,       // the cap after RLIMIT_NOFILE (<= options.concurrency)
  kStOverflow,          // records the ring could not take (always 0: the engine waits for room)
  kStSkipped,           // probes dropped unsent or closed in flight: their host was given up (SkipHosts)
  kStatusWords
};

// The first probe that met a local shortage of each kind (for one warning per kind).
struct Shortage {
  int err;
  uint8_t family;
  uint8_t addr[16];
  uint16_t port;
  uint32_t limit;
};

class ConnectEngine : public OwnedThread {
 public:
  ConnectEngine(std::shared_ptr<RecordRing> ring, std::unique_ptr<job::ScanJob> job, ConnectOptions options);
  ~ConnectEngine() override;
  ConnectEngine(const ConnectEngine&) = delete;
  ConnectEngine& operator=(const ConnectEngine&) = delete;

  // Returns an empty string, or why the thread could not start (epoll/eventfd failure).
  std::string Start();
  void RequestStop() override;
  void Join() override;

  void Pause();
  void Resume();
  // Allows positions below `end` (never lowers it; capped at the job's length).
  void SetEnd(uint64_t end);
  void ReadStatus(double* out) const;
  // Shortages first met since the previous call.
  std::vector<Shortage> TakeShortages();
  // Hosts given up on (the scanner's host timeout): from the engine's next loop turn on, no
  // probe of theirs is started, neither a first try nor a resend, and their connects in
  // flight are closed (no kernel SYN retransmission), all without a record (kStSkipped).
  struct Host {
    uint8_t family;
    uint8_t addr[16];
  };
  void SkipHosts(const std::vector<Host>& hosts);

 private:
  struct Slot;
  struct Pending;
  class Loop;

  void Kick();
  void Run();

  std::shared_ptr<RecordRing> ring_;
  std::unique_ptr<job::ScanJob> job_;
  ConnectOptions options_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: pause/resume/end/stop wake the loop
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<uint64_t> end_{0};
  std::atomic<uint32_t> sleeping_{0};  // the loop waits in epoll for a kick

  // Status, written by the engine thread only (relaxed), read by ReadStatus.
  std::atomic<double> status_[kStatusWords];

  mutable std::mutex shortage_mu_;
  std::vector<Shortage> shortages_new_;
  std::bitset<256> shortage_seen_;  // by errno; engine thread only

  // Handed over by SkipHosts (JS thread), moved into the engine thread's set between fills.
  std::mutex skip_mu_;
  std::vector<Host> skip_pending_;  // under skip_mu_
  std::atomic<bool> skip_new_{false};

  friend class Loop;
};

}  // namespace portflow::connect
