// C++ tests of the probe engine's sender side under AddressSanitizer + UBSan: the in-flight
// window (open addressing, backward-shift deletion, stale timeouts), the pacer's token
// bucket on a simulated clock, next-hop selection, and the engine itself on loopback
// (raw IP sockets; skipped with a reason without CAP_NET_RAW): retries only for probes
// nobody answered, NoAnswer counts, and a start/stop loop (with and without the capture
// thread) that must not leak.
#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "check.h"
#include "common/bytes.h"
#include "io/engine.h"
#include "io/host_set.h"
#include "io/next_hop.h"
#include "io/pacer.h"
#include "io/window.h"

using namespace portflow;
using namespace portflow::io;

namespace {

ProbeKey Key(uint32_t host, uint16_t port) {
  ProbeKey k;
  k.family = 4;
  k.proto = 6;
  k.dst_port = port;
  StoreBe32(k.dst, host);
  return k;
}

}  // namespace

TEST(window_insert_find_erase_against_a_model) {
  Window w(512);
  std::map<uint64_t, int32_t> model;  // (host << 16 | port) -> entry
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const uint32_t host = static_cast<uint32_t>(rng() % 700);
    const uint16_t port = static_cast<uint16_t>(rng() % 3);
    const uint64_t id = uint64_t{host} << 16 | port;
    const int32_t found = w.Find(Key(host, port));
    auto it = model.find(id);
    CHECK_EQ(found >= 0, it != model.end());
    if (it != model.end()) {
      CHECK_EQ(found, it->second);
      w.Erase(found);
      model.erase(it);
    } else if (!w.full()) {
      const int32_t e = w.Insert(Key(host, port));
      CHECK(e >= 0);
      model[id] = e;
    } else {
      CHECK_EQ(w.Insert(Key(host, port)), -1);
    }
    CHECK_EQ(w.size(), model.size());
  }
}

TEST(window_timeouts_skip_answered_and_rescheduled_entries) {
  Window w(4);
  const int32_t a = w.Insert(Key(1, 1)), b = w.Insert(Key(2, 1)), c = w.Insert(Key(3, 1));
  w.Schedule(a, 100);
  w.Schedule(b, 200);
  w.Schedule(c, 300);
  w.Erase(b);         // answered: its timeout is stale
  w.Schedule(a, 400);  // resent: the first timeout is stale
  CHECK_EQ(w.PopExpired(50), -1);
  CHECK_EQ(w.NextDeadline(), 300u);
  CHECK_EQ(w.PopExpired(350), c);
  CHECK_EQ(w.PopExpired(350), -1);
  CHECK_EQ(w.PopExpired(400), a);
  CHECK_EQ(w.NextDeadline(), 0u);
  // Many reschedules of few entries: the FIFO compacts instead of growing.
  for (int i = 0; i < 10000; ++i) w.Schedule(a, 1000 + i);
  CHECK_EQ(w.PopExpired(1000 + 10000), a);
  CHECK_EQ(w.PopExpired(UINT64_MAX), -1);
}

TEST(pacer_releases_the_rate_in_millisecond_batches) {
  for (double rate : {100.0, 10000.0, 100000.0, 1000000.0}) {
    Pacer p(rate);
    uint64_t now = 1000000000, sent = 0, calls = 0, max_batch = 0;
    const uint64_t end = now + 2000000000ull;  // two simulated seconds
    while (now < end) {
      uint64_t wait = 0;
      const uint32_t n = p.Take(now, 256, &wait);
      if (n == 0) {
        CHECK(wait > 0);
        now += wait;
        continue;
      }
      ++calls;
      sent += n;
      if (n > max_batch) max_batch = n;
    }
    const double expected = rate * 2;
    CHECK(sent >= expected * 0.99 - 1 && sent <= expected * 1.01 + 256);
    // ~1 ms of packets per batch, at least one, at most a sendmmsg batch.
    const double batch = rate * 1e-3 < 1 ? 1 : (rate * 1e-3 > 256 ? 256 : rate * 1e-3);
    CHECK(max_batch <= static_cast<uint64_t>(batch) + 1);
    CHECK(calls > 0);
  }
  // A rate change applies at once: no credit saved at the old rate.
  Pacer p(1000);
  uint64_t wait = 0, now = 5000000000ull;
  CHECK_EQ(p.Take(now, 256, &wait), 0u);
  p.SetRate(1e6);
  now += 1000000;
  const uint32_t n = p.Take(now, 256, &wait);
  CHECK(n <= 256);
  Pacer unpaced(std::numeric_limits<double>::infinity());
  CHECK_EQ(unpaced.Take(now, 256, &wait), 256u);
}

TEST(next_hop_prefers_neighbours_then_the_longest_prefix) {
  std::vector<NeighborEntry> n(1);
  n[0].family = 4;
  StoreBe32(n[0].addr, 0x0a140005);
  std::memset(n[0].mac, 0x05, 6);
  std::vector<RouteEntry> r(3);
  r[0].family = 4;  // default via gateway
  r[0].prefix_len = 0;
  r[0].has_mac = true;
  std::memset(r[0].mac, 0x01, 6);
  r[1].family = 4;  // on-link /24
  r[1].prefix_len = 24;
  StoreBe32(r[1].addr, 0x0a140000);
  r[2].family = 4;  // a /16 via another gateway
  r[2].prefix_len = 16;
  StoreBe32(r[2].addr, 0x0a150000);
  r[2].has_mac = true;
  std::memset(r[2].mac, 0x02, 6);
  NextHops hops(n, r);
  uint8_t a[16] = {}, mac[6];
  StoreBe32(a, 0x0a140005);
  CHECK(hops.Lookup(4, a, mac) && mac[0] == 0x05);
  StoreBe32(a, 0x0a140009);  // on-link, unknown neighbour
  CHECK(!hops.Lookup(4, a, mac));
  StoreBe32(a, 0x0a150101);
  CHECK(hops.Lookup(4, a, mac) && mac[0] == 0x02);
  StoreBe32(a, 0x08080808);
  CHECK(hops.Lookup(4, a, mac) && mac[0] == 0x01);
  CHECK(!hops.Lookup(6, a, mac));  // no IPv6 route at all
  NextHops none({}, {});
  CHECK(!none.Lookup(4, a, mac));
}

namespace {

bool HaveRawSockets() {
  try {
    ThrowIfNoRawSocket();
    return true;
  } catch (const SocketError&) {
    return false;
  }
}

// 127.0.0.1-8 x TCP ports 1..(ports): a loopback job over raw IP sockets.
EngineConfig LoopbackConfig(uint32_t hosts, uint32_t ports) {
  EngineConfig c;
  c.mode = EngineMode::kSyn;
  c.segments.assign(10, 0);
  c.segments[0] = 4;
  c.segments[5] = 0x7f000001;
  c.segments[9] = 0x7f000000 + hosts;
  c.ports = {1, 1, ports};
  c.seed = 42;
  c.interface = "lo";
  c.ifindex = 1;
  c.ethernet = false;
  c.has_v4 = true;
  c.src_v4.family = 4;
  StoreBe32(c.src_v4.bytes, 0x7f000001);
  c.mtu = 65535;
  c.port_first = 61000;
  c.port_count = 4000;
  c.rate = 50000;
  c.window = 4096;
  c.linger_ms = 10;
  c.capture = false;
  c.key = CookieKey{1, 2};
  return c;
}

struct Outcome {
  std::map<uint16_t, uint32_t> no_answer_by_port;  // port -> NoAnswer records
  uint64_t no_answer = 0, probes_in_no_answer = 0, retries = 0, counters = 0;
};

Outcome Drain(RecordRing& ring) {
  Outcome o;
  auto& q = ring.ring();
  size_t n = q.AvailableFresh();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* b = q.Peek(i).bytes;
    if (b[rec::kKind] == static_cast<uint8_t>(RecordKind::kNoAnswer)) {
      ++o.no_answer;
      o.probes_in_no_answer += LoadLe<uint32_t>(b + rec::kCount);
      ++o.no_answer_by_port[LoadLe<uint16_t>(b + rec::kPort)];
    } else if (b[rec::kKind] == static_cast<uint8_t>(RecordKind::kRetriesSent)) {
      o.retries += LoadLe<uint32_t>(b + rec::kCount);
    } else if (b[rec::kKind] == static_cast<uint8_t>(RecordKind::kCounters)) {
      ++o.counters;
    }
  }
  q.Release(n);
  return o;
}

bool WaitFor(const std::function<bool()>& cond, int ms) {
  for (int i = 0; i < ms; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

}  // namespace

TEST(engine_resends_only_unanswered_probes) {
  if (!HaveRawSockets()) {
    std::printf("  engine tests skipped: no CAP_NET_RAW (run as root)\n");
    return;
  }
  EngineConfig c = LoopbackConfig(8, 10);  // 80 probes
  c.max_retries = 2;
  c.initial_rtt_ms = c.min_rtt_ms = c.max_rtt_ms = 400;
  auto replies = std::make_shared<RecordRing>(1024), outcomes = std::make_shared<RecordRing>(1024);
  std::atomic<bool> finished{false};
  Engine e(c, replies, outcomes, [&] { finished = true; });
  e.Start();
  CHECK(WaitFor([&] { return e.counters().probes == 80; }, 5000));
  // Answer every even port, as the capture thread would after matching replies.
  for (uint32_t h = 1; h <= 8; ++h)
    for (uint16_t p = 2; p <= 10; p += 2) {
      AnsweredProbe a{};
      a.family = 4;
      a.proto = 6;
      a.dst_port = p;
      StoreBe32(a.dst, 0x7f000000 + h);
      CHECK(e.answered().TryPush(a));
    }
  CHECK(WaitFor([&] { return finished.load(); }, 10000));
  e.Join();
  const EngineCounters k = e.counters();
  Outcome o = Drain(*outcomes);
  CHECK_EQ(k.probes, 80u);
  CHECK_EQ(k.retries, 80u);  // 40 unanswered x 2 retries
  CHECK_EQ(k.sent, 160u);
  CHECK_EQ(o.retries, 80u);
  CHECK_EQ(o.no_answer, 40u);
  CHECK_EQ(o.probes_in_no_answer, 120u);  // 3 tries each
  for (const auto& [port, n] : o.no_answer_by_port) {
    CHECK(port % 2 == 1);
    CHECK_EQ(n, 8u);
  }
  CHECK_EQ(k.low_water, 80u);
  CHECK_EQ(k.high_water, 80u);
  CHECK_EQ(k.in_flight, 0u);
  CHECK(o.counters >= 1);
}

TEST(host_set_against_a_model) {
  // Grows from 8 slots past thousands of v4 and v6 addresses; v4 a.b.c.d and the v6 address
  // with the same first bytes are different hosts.
  HostSet s(1);
  std::set<std::vector<uint8_t>> model;
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    uint8_t a[16] = {};
    const uint8_t family = rng() % 3 == 0 ? 6 : 4;
    StoreBe32(a, 0x0a000000 + rng() % 4096);
    if (family == 6) a[15] = static_cast<uint8_t>(rng() % 4);
    std::vector<uint8_t> key(a, a + (family == 6 ? 16 : 4));
    key.insert(key.begin(), family);
    const bool fresh = model.insert(key).second;
    CHECK_EQ(s.Insert(family, a), fresh);
    CHECK(s.Contains(family, a));
  }
  CHECK_EQ(s.size(), model.size());
  for (uint32_t h = 0; h < 8192; ++h) {
    for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
      uint8_t a[16] = {};
      StoreBe32(a, 0x0a000000 + h);
      std::vector<uint8_t> key(a, a + (family == 6 ? 16 : 4));
      key.insert(key.begin(), family);
      CHECK_EQ(s.Contains(family, a), model.count(key) == 1);
    }
  }
  HostSet empty;
  uint8_t z[16] = {};
  CHECK(!empty.Contains(4, z));
}

TEST(engine_skips_hosts_before_first_tries_and_resends) {
  if (!HaveRawSockets()) return;
  // Before start: no probe at all to 127.0.0.3 and 127.0.0.5, their positions final without records.
  {
    EngineConfig c = LoopbackConfig(8, 10);
    c.max_retries = 0;
    c.initial_rtt_ms = c.min_rtt_ms = c.max_rtt_ms = 50;
    auto replies = std::make_shared<RecordRing>(1024), outcomes = std::make_shared<RecordRing>(1024);
    std::atomic<bool> finished{false};
    Engine e(c, replies, outcomes, [&] { finished = true; });
    IpAddress h3, h5;
    h3.family = h5.family = 4;
    StoreBe32(h3.bytes, 0x7f000003);
    StoreBe32(h5.bytes, 0x7f000005);
    e.SkipHosts({h3, h5});
    e.Start();
    CHECK(WaitFor([&] { return finished.load(); }, 5000));
    e.Join();
    const EngineCounters k = e.counters();
    Outcome o = Drain(*outcomes);
    CHECK_EQ(k.probes, 60u);
    CHECK_EQ(k.sent, 60u);
    CHECK_EQ(k.skipped, 20u);
    CHECK_EQ(o.no_answer, 60u);
    CHECK_EQ(k.low_water, 80u);
  }
  // While running: every first try has left, then 127.0.0.2 is skipped: none of its 10
  // probes is resent and none gets a NoAnswer; the other 70 get both retries.
  {
    EngineConfig c = LoopbackConfig(8, 10);
    c.max_retries = 2;
    c.initial_rtt_ms = c.min_rtt_ms = c.max_rtt_ms = 400;
    auto replies = std::make_shared<RecordRing>(1024), outcomes = std::make_shared<RecordRing>(1024);
    std::atomic<bool> finished{false};
    Engine e(c, replies, outcomes, [&] { finished = true; });
    e.Start();
    CHECK(WaitFor([&] { return e.counters().probes == 80; }, 5000));
    IpAddress h2;
    h2.family = 4;
    StoreBe32(h2.bytes, 0x7f000002);
    e.SkipHosts({h2});
    CHECK(WaitFor([&] { return finished.load(); }, 10000));
    e.Join();
    const EngineCounters k = e.counters();
    Outcome o = Drain(*outcomes);
    CHECK_EQ(k.probes, 80u);
    CHECK_EQ(k.retries, 140u);
    CHECK_EQ(k.sent, 220u);
    CHECK_EQ(k.skipped, 10u);
    CHECK_EQ(o.no_answer, 70u);
    CHECK_EQ(k.low_water, 80u);
    CHECK_EQ(k.in_flight, 0u);
  }
}

TEST(engine_without_next_hop_reports_no_answer_with_zero_probes) {
  if (!HaveRawSockets()) return;
  EngineConfig c = LoopbackConfig(4, 2);
  c.ethernet = true;  // AF_PACKET on lo, but no route or neighbour: nothing can go
  c.max_retries = 0;
  auto replies = std::make_shared<RecordRing>(64), outcomes = std::make_shared<RecordRing>(64);
  std::atomic<bool> finished{false};
  Engine e(c, replies, outcomes, [&] { finished = true; });
  e.Start();
  CHECK(WaitFor([&] { return finished.load(); }, 5000));
  e.Join();
  Outcome o = Drain(*outcomes);
  CHECK_EQ(o.no_answer, 8u);
  CHECK_EQ(o.probes_in_no_answer, 0u);
  CHECK_EQ(e.counters().sent, 0u);
  CHECK_EQ(e.counters().no_route, 8u);
}

TEST(engine_start_stop_loop_joins_and_frees_everything) {
  if (!HaveRawSockets()) return;
  for (int i = 0; i < 40; ++i) {
    EngineConfig c = LoopbackConfig(8, 1000);
    c.rate = i % 2 ? 1e9 : 20000;
    c.capture = i % 2 == 0;  // the capture thread (on lo) started and joined with the sender
    auto replies = std::make_shared<RecordRing>(256), outcomes = std::make_shared<RecordRing>(256);
    auto e = std::make_unique<Engine>(c, replies, outcomes, [] {});
    if (i % 3 != 0) e->Start();
    if (i % 4 == 1) e->Pause();
    std::this_thread::sleep_for(std::chrono::milliseconds(i % 5));
    e->RequestStop();
    e->Join();
    e->Join();  // idempotent
    e.reset();
  }
  CHECK(true);
}

// A Join() before Start() (stop(), or the outcomes ring's close() joining its producer)
// is final: Start() then throws instead of running a sender without sockets whose thread
// no one would join.
TEST(engine_start_after_join_is_refused) {
  if (!HaveRawSockets()) return;
  for (const bool capture : {false, true}) {
    EngineConfig c = LoopbackConfig(2, 2);
    c.capture = capture;
    auto replies = std::make_shared<RecordRing>(64), outcomes = std::make_shared<RecordRing>(64);
    Engine e(c, replies, outcomes, [] {});
    CHECK(outcomes->AttachProducer(&e));
    outcomes->StopProducer();
    bool refused = false;
    try {
      e.Start();
    } catch (const EngineStateError&) {
      refused = true;
    }
    CHECK(refused);
    outcomes->DetachProducer(&e);
    CHECK_EQ(e.counters().sent, 0u);
  }
}

TEST(engine_refuses_bad_configs_naming_the_option) {
  auto rings = std::make_shared<RecordRing>(16);
  auto expect_option = [&](EngineConfig c, const char* option) {
    try {
      Engine e(c, rings, rings, [] {});
      CHECK(false);
    } catch (const EngineConfigError& err) {
      CHECK(err.option == option);
    } catch (const SocketError&) {
      CHECK(false);
    }
  };
  EngineConfig c = LoopbackConfig(2, 2);
  c.ports = {2, 53, 53};  // UDP in a SYN engine
  expect_option(c, "job");
  c = LoopbackConfig(2, 2);
  c.mode = EngineMode::kDiscovery;
  c.discovery = {DiscoverySpec{}};  // one method, but the job has ports 1..2
  expect_option(c, "discovery");
  c = LoopbackConfig(2, 2);
  c.has_v4 = false;
  expect_option(c, "link");
  c = LoopbackConfig(2, 2);
  c.position = 99;
  expect_option(c, "job");
}

int main() { return check::RunAll("cpp sender tests (AddressSanitizer + UBSan)"); }
