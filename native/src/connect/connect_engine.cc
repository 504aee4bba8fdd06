#include "connect/connect_engine.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>

#include "common/bytes.h"
#include "ring/record.h"
#include "ring/test_producer.h"

namespace portflow::connect {

namespace {

constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kProtoTcp = 6;
// Destination unreachable: ICMP type 3 (codes 0 net, 1 host, 13 admin prohibited);
// ICMPv6 type 1 (codes 0 no route, 3 address unreachable, 1 admin prohibited).
constexpr uint8_t kIcmpUnreach = 3;
constexpr uint8_t kIcmp6Unreach = 1;

// SYN sizes at the IP layer as Linux builds them (MSS, SACK-permitted, timestamps, NOP, WS).
constexpr double kSynBytesV4 = 60;
constexpr double kSynBytesV6 = 80;

// Shortages in a row at a concurrency of 1 with nothing in flight before the engine gives up.
constexpr uint32_t kMaxResourceStreak = 200;
constexpr uint64_t kBackoffNs = 10'000'000;        // after a shortage: let the kernel free sockets/ports
constexpr uint64_t kCountersEveryNs = 1'000'000'000;
constexpr int kMaxEvents = 256;
constexpr int kIdleWaitMs = 50;                    // a safety net only: kicks wake the loop
constexpr int kFdMargin = 64;                      // descriptors left for the rest of the process

uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool IsShortage(int err) {
  return err == EADDRNOTAVAIL || err == EADDRINUSE || err == EMFILE || err == ENFILE || err == ENOBUFS ||
         err == ENOMEM || err == EAGAIN;
}

// A socket descriptor closed on every path out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with an RST instead of a FIN: no TIME_WAIT left behind per open port (as nmap).
  void Abort() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    Reset();
  }

 private:
  int fd_ = -1;
};

// RFC 6298, as the scanner's RttEstimator: timeout = srtt + 4 rttvar, clamped.
class Rtt {
 public:
  Rtt(double initial, double min, double max) : min_(min), max_(max), timeout_(initial) {}
  void Observe(double ms) {
    if (!(ms >= 0)) return;
    if (samples_ == 0) {
      srtt_ = ms;
      rttvar_ = ms / 2;
    } else {
      rttvar_ = 0.75 * rttvar_ + 0.25 * std::fabs(srtt_ - ms);
      srtt_ = 0.875 * srtt_ + 0.125 * ms;
    }
    ++samples_;
    const double t = srtt_ + 4 * rttvar_;
    timeout_ = t < min_ ? min_ : t > max_ ? max_ : t;
  }
  double srtt() const { return srtt_; }
  double rttvar() const { return rttvar_; }
  double timeout() const { return timeout_; }

 private:
  double min_, max_, timeout_;
  double srtt_ = 0, rttvar_ = 0;
  uint64_t samples_ = 0;
};

// Descriptors open now; 0 when even /proc/self/fd cannot be opened (EMFILE): the budget is
// then too generous and the engine's EMFILE handling (requeue, fewer in flight) takes over.
size_t OpenDescriptors() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// Raises the soft RLIMIT_NOFILE up to the hard limit and returns how many sockets this
// engine may hold: what the limit leaves after the descriptors already open and a margin.
uint32_t SocketBudget(uint32_t wanted) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return wanted;
  if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur < rl.rlim_max)) {
    rlimit up = rl;
    up.rlim_cur = rl.rlim_max == RLIM_INFINITY ? std::max<rlim_t>(rl.rlim_cur, 1 << 20) : rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up;
  }
  if (rl.rlim_cur == RLIM_INFINITY) return wanted;
  const double room = static_cast<double>(rl.rlim_cur) - static_cast<double>(OpenDescriptors()) - kFdMargin;
  if (room < 1) return 1;
  return room < wanted ? static_cast<uint32_t>(room) : wanted;
}

}  // namespace

struct ConnectEngine::Pending {
  uint8_t addr[16];
  uint8_t family;
  uint16_t port;
  uint32_t attempt;
  uint64_t position;
};

struct ConnectEngine::Slot {
  UniqueFd fd;
  Pending probe{};
  uint64_t started_ns = 0;
  uint64_t deadline_ns = 0;
  uint32_t gen = 0;
  uint8_t family = 0;      // of the open socket
  bool registered = false;  // in the epoll set (one-shot, re-armed per probe)
  bool busy = false;
};

// The engine thread's state: everything here is touched by that thread only.
class ConnectEngine::Loop {
 public:
  explicit Loop(ConnectEngine& e)
      : e_(e), o_(e.options_), job_(*e.job_), rtt_(o_.initial_timeout_ms, o_.min_timeout_ms, o_.max_timeout_ms) {}

  void Run() {
    cap_ = SocketBudget(std::max<uint32_t>(1, o_.concurrency));
    limit_ = cap_;
    slots_.resize(cap_);
    for (auto& f : free_) f.reserve(cap_);
    for (uint32_t i = cap_; i-- > 0;) free_[kNoSocket].push_back(i);
    queue_.resize(cap_ + 1);
    pos_ = job_.low_water();  // the job was initialised at its start position
    length_ = job_.length();
    sweep_ns_ = static_cast<uint64_t>(std::clamp(o_.min_timeout_ms / 4, 1.0, 50.0) * 1e6);
    const uint64_t t0 = MonoNs();
    next_sweep_ = t0 + sweep_ns_;
    next_counters_ = t0 + kCountersEveryNs;
    Set(kStConcurrency, cap_);
    Set(kStLimit, limit_);
    Set(kStTimeout, rtt_.timeout());
    Set(kStHighWater, static_cast<double>(pos_));

    epoll_event events[kMaxEvents];
    while (!e_.stop_.load(std::memory_order_relaxed)) {
      uint64_t now = MonoNs();
      wall_ms_ = WallClockMs();
      if (backoff_until_ != 0 && now >= backoff_until_) backoff_until_ = 0;
      Fill(now);
      if (fatal_ != 0 || Finished()) break;
      Publish(now);
      int timeout = WaitMs(now);
      if (timeout != 0) {
        // Dekker handshake with Kick(): announce the sleep, then look once more.
        e_.sleeping_.store(1, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (CanStart() || e_.stop_.load(std::memory_order_relaxed)) timeout = 0;
      }
      const int n = ::epoll_wait(ep_, events, kMaxEvents, timeout);
      e_.sleeping_.store(0, std::memory_order_relaxed);
      now = MonoNs();
      wall_ms_ = WallClockMs();
      for (int i = 0; i < n; ++i) {
        const uint64_t data = events[i].data.u64;
        if (data == kWakeTag) {
          uint64_t v;
          while (::read(e_.wake_fd_, &v, sizeof v) == sizeof v) {
          }
          continue;
        }
        const uint32_t s = static_cast<uint32_t>(data);
        const uint32_t gen = static_cast<uint32_t>(data >> 32);
        if (s >= slots_.size() || !slots_[s].busy || slots_[s].gen != gen) continue;
        Complete(s, SocketError(slots_[s].fd.get()), now);
      }
      if (now >= next_sweep_) {
        Sweep(now);
        next_sweep_ = now + sweep_ns_;
      }
    }
    // Stopped, finished or given up: close every socket (RST for any that connected).
    for (Slot& sl : slots_) {
      if (sl.busy) sl.fd.Abort();
      sl.fd.Reset();
      sl.busy = false;
    }
    in_flight_ = 0;
    Set(kStInFlight, 0);
    Set(kStRetriesPending, 0);
    if (fatal_ != 0) Set(kStFatalErrno, fatal_);
    WriteCounters();
    // Records first, then `done`: JavaScript that sees done has every record visible.
    e_.ring_->ring().Flush(std::memory_order_seq_cst);
    e_.status_[kStDone].store(1, std::memory_order_release);
    e_.ring_->Publish();
  }

  void set_epoll(int ep) { ep_ = ep; }
  static constexpr uint64_t kWakeTag = ~uint64_t{0};

 private:
  void Set(int i, double v) { e_.status_[i].store(v, std::memory_order_relaxed); }

  bool Finished() const { return in_flight_ == 0 && qn_ == 0 && pos_ >= length_; }

  uint64_t End() const {
    const uint64_t end = e_.end_.load(std::memory_order_seq_cst);
    return end < length_ ? end : length_;
  }

  uint64_t RingUsed() const { return written_ - e_.ring_->ring().tail(); }

  // Whether a probe could be started now. Records still unread by JavaScript count
  // against the limit, so "in flight" means what the scan has not yet reported: a pause
  // lets at most `concurrency` more results through, and the ring never fills.
  bool CanStart() const {
    if (e_.paused_.load(std::memory_order_seq_cst) || backoff_until_ != 0) return false;
    if (in_flight_ >= limit_ || in_flight_ + RingUsed() >= limit_) return false;
    return qn_ > 0 || NextFromJob() < End();
  }

  uint64_t NextFromJob() const {
    uint64_t p = pos_;
    size_t k = skip_at_;
    while (k < o_.skip.size() && o_.skip[k] <= p) {
      if (o_.skip[k] == p) ++p;
      ++k;
    }
    return p;
  }

  int WaitMs(uint64_t now) {
    uint64_t until = 0;
    if (in_flight_ > 0) until = next_sweep_;
    if (backoff_until_ != 0 && (until == 0 || backoff_until_ < until)) until = backoff_until_;
    if (until == 0) return kIdleWaitMs;
    if (until <= now) return 0;
    const uint64_t ms = (until - now + 999'999) / 1'000'000;
    return static_cast<int>(std::min<uint64_t>(ms, kIdleWaitMs));
  }

  // Hosts SkipHosts handed over since the last fill (one atomic load when there are none).
  void TakeSkips() {
    if (!e_.skip_new_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(e_.skip_mu_);
    for (const Host& h : e_.skip_pending_) skip_hosts_.Insert(h.family, h.addr);
    e_.skip_pending_.clear();
    e_.skip_new_.store(false, std::memory_order_relaxed);
    // Their connects in flight are closed now, unreported: until the engine's timeout the
    // kernel would retransmit their SYNs (after 1 s, 3 s, ...), packets to a host given up.
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      const Slot& sl = slots_[s];
      if (!sl.busy || !skip_hosts_.Contains(sl.probe.family, sl.probe.addr)) continue;
      Release(s, kAbort);
      Count(kStSkipped, 1);
    }
  }

  // A probe of a host given up on: dropped unsent, with no record (JavaScript made its
  // position final when it gave the host up).
  bool Skipped(const Pending& p) {
    if (skip_hosts_.empty() || !skip_hosts_.Contains(p.family, p.addr)) return false;
    Count(kStSkipped, 1);
    return true;
  }

  void Fill(uint64_t now) {
    TakeSkips();
    while (CanStart() && fatal_ == 0) {
      Pending p;
      if (qn_ > 0) {
        p = queue_[qh_];
        qh_ = (qh_ + 1) % queue_.size();
        --qn_;
        Set(kStRetriesPending, qn_);
      } else {
        while (skip_at_ < o_.skip.size() && o_.skip[skip_at_] < pos_) ++skip_at_;
        if (skip_at_ < o_.skip.size() && o_.skip[skip_at_] == pos_) {
          ++pos_;
          ++skip_at_;
          Set(kStHighWater, static_cast<double>(pos_));
          continue;
        }
        job::Probe probe;
        job_.probe_at(pos_, probe);
        std::memcpy(p.addr, probe.addr, 16);
        p.family = probe.family;
        p.port = probe.port;
        p.attempt = 0;
        p.position = pos_;
        ++pos_;
        Set(kStHighWater, static_cast<double>(pos_));
      }
      if (Skipped(p)) continue;
      StartProbe(p, now);
      now = MonoNs();  // a full fill takes milliseconds: keep start times (and RTTs) exact
    }
  }

  void StartProbe(const Pending& p, uint64_t now) {
    const bool v6 = p.family == 6;
    // A free slot holding a socket of this family, else one without a socket, else the other family's.
    const int mine = v6 ? kV6 : kV4;
    std::vector<uint32_t>& from = !free_[mine].empty() ? free_[mine] : !free_[kNoSocket].empty() ? free_[kNoSocket] : free_[mine ^ 1];
    const uint32_t s = from.back();
    from.pop_back();  // filed again (FileFree) on every path that does not start the probe
    Slot& sl = slots_[s];
    // A socket whose last connect was refused is connected again: no socket()/close() and
    // no ephemeral-port search per probe (its port stays bound). After a failed connect the
    // first connect() only resets the socket (ECONNABORTED); the second one sends the SYN.
    const bool reuse = sl.fd.valid() && sl.family == p.family;
    if (!reuse) {
      sl.fd.Reset();
      sl.registered = false;
      const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        const int err = errno;
        FileFree(s);
        if (IsShortage(err)) return Shortage(p, err, now);
        return WriteNoAnswer(p, p.attempt, err);
      }
      sl.fd = UniqueFd(fd);
      sl.family = p.family;
    }
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(p.port);
      std::memcpy(&a->sin6_addr, p.addr, 16);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(p.port);
      std::memcpy(&a->sin_addr, p.addr, 4);
      len = sizeof *a;
    }
    const int fd = sl.fd.get();
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    int err = rc == 0 ? 0 : errno;
    if (reuse && rc != 0 && err == ECONNABORTED) {
      rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
      err = rc == 0 ? 0 : errno;
    }
    if (rc != 0 && IsShortage(err)) {
      sl.fd.Reset();
      sl.registered = false;
      FileFree(s);
      return Shortage(p, err, now);
    }
    // The SYN went out.
    Count(kStSent, 1);
    Count(kStBytes, v6 ? kSynBytesV6 : kSynBytesV4);
    if (p.attempt > 0) {
      Count(kStRetries, 1);
      WriteRetry(p);
    }
    sl.probe = p;
    sl.started_ns = now;
    sl.deadline_ns = now + static_cast<uint64_t>(rtt_.timeout() * 1e6);
    ++sl.gen;
    sl.busy = true;
    ++in_flight_;
    Set(kStInFlight, in_flight_);
    if (rc == 0) return Complete(s, 0, now);  // loopback can finish the handshake inside connect()
    if (err != EINPROGRESS) return Complete(s, err, now);
    // On loopback the answer is usually in before connect() returns: a pending error (a
    // refusal) is final at once, with no epoll round. This also reads an ICMP error that
    // arrived inside connect() (kept as a soft error, which wakes nobody). 0 means connected
    // or still pending.
    if (const int early = SocketError(fd); early != 0) return Complete(s, early, now);
    // One-shot: a reused socket sits refused (always "ready") between probes.
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.u64 = (static_cast<uint64_t>(sl.gen) << 32) | s;
    if (::epoll_ctl(ep_, sl.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int cerr = errno;
      Release(s, kClose);
      Shortage(p, IsShortage(cerr) ? cerr : ENOMEM, now);
      return;
    }
    sl.registered = true;
  }

  static int SocketError(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }

  int FreeList(const Slot& sl) const { return !sl.fd.valid() ? kNoSocket : sl.family == 6 ? kV6 : kV4; }
  // Files a free slot under the socket it holds.
  void FileFree(uint32_t s) { free_[FreeList(slots_[s])].push_back(s); }

  enum Close { kClose, kAbort, kKeep };

  // kKeep: the socket stays open for the slot's next probe (after a refused connect).
  void Release(uint32_t s, Close how) {
    Slot& sl = slots_[s];
    if (how == kAbort) sl.fd.Abort();
    else if (how == kClose) sl.fd.Reset();  // closing also removes it from the epoll set
    if (how != kKeep) sl.registered = false;
    sl.busy = false;
    FileFree(s);
    --in_flight_;
    Set(kStInFlight, in_flight_);
  }

  // A TCP self-connect: a connect to a free port of our own address in the ephemeral range
  // that got that very port as its source (simultaneous open). Nothing listens there.
  static bool SelfConnected(int fd) {
    sockaddr_storage a{}, b{};
    socklen_t la = sizeof a, lb = sizeof b;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &la) != 0) return false;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&b), &lb) != 0) return false;
    return la == lb && std::memcmp(&a, &b, la) == 0;
  }

  static uint16_t LocalPort(int fd) {
    sockaddr_storage a{};
    socklen_t la = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &la) != 0) return 0;
    return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  }

  void Complete(uint32_t s, int err, uint64_t now) {
    Slot& sl = slots_[s];
    const Pending p = sl.probe;
    const double rtt_ms = static_cast<double>(now - sl.started_ns) / 1e6;
    if (IsShortage(err)) {
      Release(s, kClose);
      return Shortage(p, err, now);
    }
    resource_streak_ = 0;
    if (err == 0) {
      const bool self = SelfConnected(sl.fd.get());
      const uint16_t local = LocalPort(sl.fd.get());
      Release(s, kAbort);
      rtt_.Observe(rtt_ms);
      Count(kStReceived, 1);
      if (self) Count(kStSelfConnects, 1);
      WriteTcp(p, self ? kTcpSyn : kTcpSyn | kTcpAck, local);
    } else {
      Release(s, err == ECONNREFUSED ? kKeep : kClose);
      switch (err) {
        case ECONNREFUSED:
          rtt_.Observe(rtt_ms);
          Count(kStReceived, 1);
          WriteTcp(p, kTcpRst | kTcpAck, 0);
          break;
        case ECONNRESET:
          Count(kStReceived, 1);
          WriteTcp(p, kTcpRst, 0);
          break;
        case ENETUNREACH:
        case ENONET:
          Count(kStReceived, 1);
          WriteUnreach(p, 0);
          break;
        case EHOSTUNREACH:
        case EHOSTDOWN:
          Count(kStReceived, 1);
          WriteUnreach(p, p.family == 6 ? 3 : 1);
          break;
        case EACCES:
        case EPERM:
          Count(kStReceived, 1);
          WriteUnreach(p, p.family == 6 ? 1 : 13);
          break;
        default:  // ETIMEDOUT (the kernel gave up first) or an errno that says nothing reliable
          WriteNoAnswer(p, p.attempt + 1, err);
          break;
      }
    }
    if (limit_ < cap_) Set(kStLimit, ++limit_);
  }

  void Shortage(const Pending& p, int err, uint64_t now) {
    Enqueue(p);
    Count(kStShortages, 1);
    limit_ = std::max<uint32_t>(1, static_cast<uint32_t>(in_flight_ * 3 / 4));
    Set(kStLimit, limit_);
    if (err >= 0 && err < 256 && !e_.shortage_seen_[err]) {
      e_.shortage_seen_[err] = true;
      portflow::connect::Shortage sh{err, p.family, {}, p.port, limit_};
      std::memcpy(sh.addr, p.addr, 16);
      std::lock_guard<std::mutex> lock(e_.shortage_mu_);
      e_.shortages_new_.push_back(sh);
    }
    if (limit_ == 1 && in_flight_ == 0 && ++resource_streak_ >= kMaxResourceStreak) {
      fatal_ = err;
      return;
    }
    backoff_until_ = now + kBackoffNs;
  }

  void Enqueue(const Pending& p) {
    // At most one queued entry per slot: the queue never outgrows its ring.
    queue_[(qh_ + qn_) % queue_.size()] = p;
    ++qn_;
    Set(kStRetriesPending, qn_);
  }

  void Sweep(uint64_t now) {
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      Slot& sl = slots_[s];
      if (!sl.busy || sl.deadline_ns > now) continue;
      // An answer that arrived since epoll_wait returned is read, not counted as a timeout.
      pollfd pfd{sl.fd.get(), POLLOUT, 0};
      if (::poll(&pfd, 1, 0) == 1 && pfd.revents != 0) {
        Complete(s, SocketError(sl.fd.get()), now);
        continue;
      }
      // An ICMP error that came while the socket was busy in a syscall is only a soft
      // error: it wakes nobody, but SO_ERROR returns it.
      if (const int soft = SocketError(sl.fd.get()); soft != 0) {
        Complete(s, soft, now);
        continue;
      }
      const Pending p = sl.probe;
      Release(s, kClose);
      Count(kStTimeouts, 1);
      if (p.attempt < o_.max_retries) {
        Pending again = p;
        ++again.attempt;
        Enqueue(again);
      } else {
        WriteNoAnswer(p, p.attempt + 1, 0);
      }
    }
  }

  void Count(int i, double by) { Set(i, e_.status_[i].load(std::memory_order_relaxed) + by); }

  // ---- records ----

  Record* Claim() {
    // The gate in CanStart() keeps room for every probe in flight; should JavaScript still
    // fall behind, wait for it: a dropped record would be a lost result.
    for (;;) {
      if (Record* r = e_.ring_->TryClaim()) return r;
      e_.ring_->Publish();
      if (e_.stop_.load(std::memory_order_relaxed)) return nullptr;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void Commit() {
    e_.ring_->Commit();
    ++written_;
    dirty_ = true;
  }

  uint8_t* Begin(RecordKind kind, const Pending& p) {
    Record* r = Claim();
    if (r == nullptr) return nullptr;
    BeginRecord(r, kind, p.family, wall_ms_);
    uint8_t* b = r->bytes;
    b[rec::kFlags] = record_flag::kJobPosition;
    StoreLe<uint16_t>(b + rec::kPort, p.port);
    std::memcpy(b + rec::kAddr, p.addr, p.family == 6 ? 16 : 4);
    b[rec::kProto] = kProtoTcp;
    StoreLe<double>(b + rec::kPosition, static_cast<double>(p.position));
    return b;
  }

  void WriteTcp(const Pending& p, uint8_t flags, uint16_t local_port) {
    uint8_t* b = Begin(RecordKind::kTcpReply, p);
    if (b == nullptr) return;
    StoreLe<uint16_t>(b + rec::kLocalPort, local_port);
    b[rec::kTcpFlags] = flags;
    Commit();
  }

  void WriteUnreach(const Pending& p, uint8_t code) {
    uint8_t* b = Begin(RecordKind::kIcmpError, p);
    if (b == nullptr) return;
    b[rec::kIcmpType] = p.family == 6 ? kIcmp6Unreach : kIcmpUnreach;
    b[rec::kIcmpCode] = code;
    Commit();
  }

  void WriteNoAnswer(const Pending& p, uint32_t sent, int err) {
    uint8_t* b = Begin(RecordKind::kNoAnswer, p);
    if (b == nullptr) return;
    StoreLe<uint32_t>(b + rec::kCount, sent);
    StoreLe<uint32_t>(b + rec::kLocalErrno, static_cast<uint32_t>(err));
    Commit();
  }

  void WriteRetry(const Pending& p) {
    uint8_t* b = Begin(RecordKind::kRetriesSent, p);
    if (b == nullptr) return;
    StoreLe<uint32_t>(b + rec::kCount, 1);
    StoreLe<uint32_t>(b + rec::kAttempt, p.attempt + 1);
    Commit();
  }

  void WriteCounters() {
    Record* r = Claim();
    if (r == nullptr) return;
    BeginRecord(r, RecordKind::kCounters, 0, WallClockMs());
    uint8_t* b = r->bytes;
    StoreLe<uint16_t>(b + rec::kProducerId, o_.producer_id);
    StoreLe<double>(b + rec::kCtrSent, e_.status_[kStSent].load(std::memory_order_relaxed));
    StoreLe<double>(b + rec::kCtrReceived, e_.status_[kStReceived].load(std::memory_order_relaxed));
    StoreLe<double>(b + rec::kCtrRetries, e_.status_[kStRetries].load(std::memory_order_relaxed));
    StoreLe<double>(b + rec::kCtrOverflow, static_cast<double>(e_.ring_->overflow()));
    Commit();
  }

  // Answers complete in bursts; publishing once per loop turn (not per record) keeps the
  // ring's shared index from bouncing between cores.
  void Publish(uint64_t now) {
    if (now >= next_counters_) {
      WriteCounters();
      next_counters_ = now + kCountersEveryNs;
    }
    Set(kStSrtt, rtt_.srtt());
    Set(kStRttvar, rtt_.rttvar());
    Set(kStTimeout, rtt_.timeout());
    if (!dirty_) return;
    dirty_ = false;
    e_.ring_->Publish();
  }

  ConnectEngine& e_;
  const ConnectOptions& o_;
  job::ScanJob& job_;
  Rtt rtt_;
  int ep_ = -1;
  uint32_t cap_ = 1;
  uint32_t limit_ = 1;
  uint32_t in_flight_ = 0;
  std::vector<Slot> slots_;
  // Free slots by the socket they hold (reused for the next probe of that family).
  enum { kV4 = 0, kV6 = 1, kNoSocket = 2 };
  std::vector<uint32_t> free_[3];
  std::vector<Pending> queue_;  // resends and probes hit by a shortage, FIFO
  size_t qh_ = 0, qn_ = 0;
  uint64_t pos_ = 0, length_ = 0;
  size_t skip_at_ = 0;
  uint64_t written_ = 0;
  bool dirty_ = false;
  double wall_ms_ = 0;
  uint64_t sweep_ns_ = 0, next_sweep_ = 0, next_counters_ = 0, backoff_until_ = 0;
  uint32_t resource_streak_ = 0;
  int fatal_ = 0;
  io::HostSet skip_hosts_;  // hosts given up on (SkipHosts), engine thread only
};

ConnectEngine::ConnectEngine(std::shared_ptr<RecordRing> ring, std::unique_ptr<job::ScanJob> job, ConnectOptions options)
    : ring_(std::move(ring)), job_(std::move(job)), options_(std::move(options)) {
  for (auto& s : status_) s.store(0, std::memory_order_relaxed);
  end_.store(options_.end, std::memory_order_relaxed);
  paused_.store(options_.start_paused, std::memory_order_relaxed);
  status_[kStHighWater].store(static_cast<double>(job_->low_water()), std::memory_order_relaxed);
}

ConnectEngine::~ConnectEngine() {
  RequestStop();
  Join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string ConnectEngine::Start() {
  // wake_fd_ too: after a Join() (a ring's StopProducer) the thread is no longer joinable,
  // and a second Start() must not leak the eventfd or run the job again.
  if (thread_.joinable() || wake_fd_ >= 0) return "already started";
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return std::string("epoll_create1: ") + std::strerror(errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Loop::kWakeTag;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    const std::string why = std::string("epoll_ctl: ") + std::strerror(errno);
    ::close(ep);
    return why;
  }
  thread_ = std::thread([this, ep] {
    UniqueFd hold(ep);
    Loop loop(*this);
    loop.set_epoll(ep);
    loop.Run();
  });
  return {};
}

void ConnectEngine::Kick() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (wake_fd_ >= 0 && sleeping_.exchange(0, std::memory_order_seq_cst) != 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
  }
}

void ConnectEngine::RequestStop() {
  stop_.store(true, std::memory_order_seq_cst);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
  }
}

void ConnectEngine::Join() {
  if (thread_.joinable()) thread_.join();
}

void ConnectEngine::Pause() { paused_.store(true, std::memory_order_seq_cst); }

void ConnectEngine::Resume() {
  paused_.store(false, std::memory_order_seq_cst);
  Kick();
}

void ConnectEngine::SetEnd(uint64_t end) {
  if (end > job_->length()) end = job_->length();
  uint64_t cur = end_.load(std::memory_order_relaxed);
  while (end > cur && !end_.compare_exchange_weak(cur, end, std::memory_order_seq_cst)) {
  }
  Kick();  // also after JavaScript released records: the ring gate may have opened
}

void ConnectEngine::ReadStatus(double* out) const {
  for (int i = 0; i < kStatusWords; ++i) out[i] = status_[i].load(std::memory_order_relaxed);
  // `done` last with acquire: everything the engine wrote before it is visible.
  out[kStDone] = status_[kStDone].load(std::memory_order_acquire);
  out[kStOverflow] = static_cast<double>(ring_->overflow());
}

void ConnectEngine::SkipHosts(const std::vector<Host>& hosts) {
  {
    std::lock_guard<std::mutex> lock(skip_mu_);
    skip_pending_.insert(skip_pending_.end(), hosts.begin(), hosts.end());
    skip_new_.store(true, std::memory_order_release);
  }
  Kick();  // probes of these hosts may be queued for a resend: drop them now, not at the next kick
}

std::vector<Shortage> ConnectEngine::TakeShortages() {
  std::lock_guard<std::mutex> lock(shortage_mu_);
  std::vector<Shortage> out;
  out.swap(shortages_new_);
  return out;
}

}  // namespace portflow::connect
