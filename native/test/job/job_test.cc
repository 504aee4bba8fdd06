// Standalone tests of the job core (no Node): g++ -std=c++20 -O2, see
// native/test/job/run.sh. `job_test --full` adds the exhaustive 2^32 + 1
// bijection check (about a minute on one core).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../src/job/scan_job.h"

using namespace portflow::job;

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

static void check_bijection(uint64_t count, uint64_t seed) {
  Permutation p;
  p.init(count, seed, false);
  std::vector<uint8_t> seen(count, 0);
  bool ok = true;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t x = p.at(i);
    if (x >= count || seen[x]) { ok = false; break; }
    seen[x] = 1;
    if (p.position_of(x) != i) { ok = false; break; }
  }
  if (!ok) std::fprintf(stderr, "bijection failed: count=%llu seed=%llu\n", (unsigned long long)count,
                        (unsigned long long)seed);
  CHECK(ok);
}

static void test_permutation() {
  for (uint64_t n = 1; n <= 1100; ++n) check_bijection(n, n * 7919);
  for (uint64_t n : {65521ull, 65536ull, 65537ull, 1000003ull, 1ull << 20}) check_bijection(n, 42);
  // Same seed, same sequence; another seed, another sequence.
  Permutation a, b, c;
  a.init(100000, 1, false);
  b.init(100000, 1, false);
  c.init(100000, 2, false);
  int same = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    CHECK(a.at(i) == b.at(i));
    same += a.at(i) == c.at(i);
  }
  CHECK(same < 100);
  // The largest allowed space: spot checks of the inverse.
  Permutation big;
  big.init(kMaxCount, 99, false);
  for (uint64_t i = 0; i < 100000; ++i) {
    uint64_t pos = (i * 0x9E3779B97F4A7C15ULL) & (kMaxCount - 1);
    uint64_t x = big.at(pos);
    CHECK(x < kMaxCount);
    CHECK(big.position_of(x) == pos);
  }
}

static void test_full_2_32_plus_1() {
  const uint64_t n = (1ull << 32) + 1;
  Permutation p;
  p.init(n, 12345, false);
  std::vector<uint64_t> seen((n + 63) / 64, 0);
  uint64_t dup = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t x = p.at(i);
    if (x >= n) { ++dup; continue; }
    uint64_t& w = seen[x >> 6];
    uint64_t bit = 1ull << (x & 63);
    if (w & bit) ++dup;
    w |= bit;
  }
  CHECK(dup == 0);
  std::printf("full 2^32+1 bijection: %s\n", dup == 0 ? "ok" : "FAILED");
}

static void words_of(uint32_t* w, uint32_t type, unsigned __int128 first, unsigned __int128 last) {
  w[0] = type;
  w[1] = 0;
  for (int i = 0; i < 4; ++i) {
    w[2 + i] = static_cast<uint32_t>(first >> (96 - 32 * i));
    w[6 + i] = static_cast<uint32_t>(last >> (96 - 32 * i));
  }
}

static void test_index_space() {
  // 10.0.0.1-3, block 192.168.{1,3}.{1-2}, 2001:db8::fffe-2001:db8::1:1 (carry)
  std::vector<uint32_t> seg(30), bits(32, 0), ports = {1, 22, 23, 1, 80, 80, 2, 53, 53};
  words_of(&seg[0], kSegV4Range, 0x0A000001, 0x0A000003);
  words_of(&seg[10], kSegV4Block, 0, 0);
  unsigned __int128 v6 = (static_cast<unsigned __int128>(0x20010db800000000ULL) << 64) | 0xfffeULL;
  words_of(&seg[20], kSegV6Range, v6, v6 + 4);
  auto set = [&](int octet, int v) { bits[octet * 8 + v / 32] |= 1u << (v % 32); };
  set(0, 192); set(1, 168); set(2, 1); set(2, 3); set(3, 1); set(3, 2);
  ScanJob job;
  std::string err = job.init(seg.data(), seg.size(), bits.data(), bits.size(), ports.data(), ports.size(), 7,
                             false, {0, 1}, 0);
  CHECK(err.empty());
  CHECK(job.space().host_count() == 3 + 4 + 5);
  CHECK(job.space().port_count() == 4);
  CHECK(job.count() == 48);
  std::vector<Probe> out(100);
  size_t n = job.next_batch(out.data(), out.size());
  CHECK(n == 48);
  std::vector<int> seen(48, 0);
  for (size_t i = 0; i < n; ++i) {
    const Probe& p = out[i];
    CHECK(p.index < 48);
    seen[p.index]++;
    CHECK(job.space().index_of(p.family, p.addr, p.port, p.kind) == static_cast<int64_t>(p.index));
    CHECK(job.position_of(p.index) == static_cast<int64_t>(i));
  }
  for (int s : seen) CHECK(s == 1);
  // Natural order: index 0 is the first host on the first port.
  ScanJob nat;
  CHECK(nat.init(seg.data(), seg.size(), bits.data(), bits.size(), ports.data(), ports.size(), 7, true, {0, 1}, 0)
            .empty());
  Probe p{};
  nat.probe_at(0, p);
  CHECK(p.family == 4 && p.addr[0] == 10 && p.addr[3] == 1 && p.port == 22 && p.kind == 1);
  nat.probe_at(3, p);
  CHECK(p.addr[0] == 192 && p.addr[2] == 1 && p.addr[3] == 1);
  nat.probe_at(6, p);
  CHECK(p.addr[0] == 192 && p.addr[2] == 3 && p.addr[3] == 2);
  nat.probe_at(8, p);  // 2001:db8::ffff, then the carry into the next 16 bits
  CHECK(p.family == 6 && p.addr[14] == 0xff && p.addr[15] == 0xff);
  nat.probe_at(9, p);
  CHECK(p.addr[13] == 1 && p.addr[14] == 0 && p.addr[15] == 0);
  nat.probe_at(47, p);
  CHECK(p.port == 53 && p.kind == 2 && p.family == 6);
  uint8_t outside[16] = {10, 0, 0, 4};
  CHECK(job.space().index_of(4, outside, 22, 1) == -1);
  uint8_t inside[16] = {10, 0, 0, 2};
  CHECK(job.space().index_of(4, inside, 53, 1) == -1);  // 53 is UDP only
  CHECK(job.space().index_of(4, inside, 53, 2) >= 0);
}

// Many segments of very different sizes: exercises the bucket index.
static void test_many_segments() {
  std::vector<uint32_t> seg, ports = {1, 7, 8, 2, 9, 9};
  uint32_t addr = 0x0A000000;
  uint64_t hosts = 0;
  for (int i = 0; i < 3000; ++i) {
    uint32_t size = (i % 97 == 0) ? 5000 : (i % 5 == 0 ? 3 : 1);
    seg.resize(seg.size() + kSegmentWords);
    words_of(&seg[seg.size() - kSegmentWords], kSegV4Range, addr, addr + size - 1);
    hosts += size;
    addr += size + 1 + (i % 3);
  }
  ScanJob job;
  CHECK(job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 17, false, {0, 1}, 0).empty());
  CHECK(job.space().host_count() == hosts);
  std::vector<uint8_t> seen(job.count(), 0);
  std::vector<Probe> out(4096);
  size_t n;
  bool ok = true;
  while ((n = job.next_batch(out.data(), out.size())) > 0) {
    for (size_t i = 0; i < n; ++i) {
      const Probe& p = out[i];
      if (seen[p.index]++ || job.space().index_of(p.family, p.addr, p.port, p.kind) != static_cast<int64_t>(p.index))
        ok = false;
    }
  }
  CHECK(ok);
  for (uint8_t s : seen) CHECK(s == 1);
}

static void test_errors() {
  std::vector<uint32_t> seg(10), ports = {1, 1, 65535};
  ScanJob job;
  words_of(seg.data(), kSegV6Range, 0, static_cast<unsigned __int128>(1) << 60);
  CHECK(!job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 0, false, {0, 1}, 0).empty());
  words_of(seg.data(), kSegV6Range, 0, (static_cast<unsigned __int128>(1) << 40) - 1);  // 2^40 x 65535 > 2^53
  CHECK(!job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 0, false, {0, 1}, 0).empty());
  std::vector<uint32_t> few = {1, 1, 8191};  // 2^40 x 8191 < 2^53
  CHECK(job.init(seg.data(), seg.size(), nullptr, 0, few.data(), few.size(), 0, false, {0, 1}, 0).empty());
  CHECK(!job.init(seg.data(), seg.size(), nullptr, 0, few.data(), few.size(), 0, false, {2, 2}, 0).empty());
  std::vector<uint32_t> bad_ports = {3, 1, 2};
  CHECK(!job.init(seg.data(), seg.size(), nullptr, 0, bad_ports.data(), 3, 0, false, {0, 1}, 0).empty());
}

static void test_shards_and_progress() {
  std::vector<uint32_t> seg(10), ports = {1, 1, 10};
  words_of(seg.data(), kSegV4Range, 0x7f000001, 0x7f000001 + 996);  // 997 hosts, a prime
  const uint64_t shards = 7;
  std::vector<int> seen(9970, 0);
  for (uint64_t k = 0; k < shards; ++k) {
    ScanJob job;
    CHECK(job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 5, false, {k, shards}, 0)
              .empty());
    std::vector<Probe> out(1000);
    size_t n;
    while ((n = job.next_batch(out.data(), out.size())) > 0)
      for (size_t i = 0; i < n; ++i) seen[out[i].index]++;
  }
  for (int s : seen) CHECK(s == 1);

  ScanJob job;
  CHECK(job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 5, false, {0, 1}, 0).empty());
  std::vector<Probe> out(9000);
  CHECK(job.next_batch(out.data(), 9000) == 9000);  // forces the ring to grow
  CHECK(job.low_water() == 0 && job.high_water() == 9000);
  for (uint64_t p = 8999; p >= 1; --p) CHECK(job.mark_done(p) == ProgressWindow::Mark::kDone);
  CHECK(job.low_water() == 0);
  CHECK(job.mark_done(0) == ProgressWindow::Mark::kDone);
  CHECK(job.low_water() == 9000);
  CHECK(job.mark_done(5) == ProgressWindow::Mark::kAlreadyDone);
  CHECK(job.mark_done(9000) == ProgressWindow::Mark::kNotIssued);
  // Resume from a position: the sequence continues where it left off.
  ScanJob resumed;
  CHECK(resumed.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 5, false, {0, 1}, 4000)
            .empty());
  Probe p{};
  CHECK(resumed.next_batch(&p, 1) == 1 && p.index == out[4000].index);
}

// Random issue sizes and completion order: low_water is always the first
// position without a final state.
static void test_progress_random() {
  ProgressWindow w;
  w.reset(100);
  std::vector<uint8_t> done;
  uint64_t rng = 0x12345678;
  auto next = [&rng]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  std::vector<uint64_t> pending;
  uint64_t low = 100;
  bool ok = true;
  for (int step = 0; step < 200000 && ok; ++step) {
    if (next() % 3 == 0 || pending.empty()) {
      uint64_t n = next() % 300;
      for (uint64_t i = 0; i < n; ++i) pending.push_back(w.high_water() + i);
      done.resize(w.high_water() + n - 100, 0);
      w.issue(n);
    } else {
      size_t k = next() % pending.size();
      uint64_t pos = pending[k];
      pending[k] = pending.back();
      pending.pop_back();
      ok = w.mark_done(pos) == ProgressWindow::Mark::kDone;
      done[pos - 100] = 1;
    }
    while (low < w.high_water() && done[low - 100]) ++low;
    if (low != w.low_water()) ok = false;
  }
  CHECK(ok);
}

static void bench() {
  std::vector<uint32_t> seg(10), ports = {1, 1, 65535};
  words_of(seg.data(), kSegV4Range, 0x0A000000, 0x0AFFFFFF);  // a /8 x all ports
  auto t0 = std::chrono::steady_clock::now();
  ScanJob job;
  CHECK(job.init(seg.data(), seg.size(), nullptr, 0, ports.data(), ports.size(), 1, false, {0, 1}, 0).empty());
  auto t1 = std::chrono::steady_clock::now();
  std::vector<Probe> out(256);
  const uint64_t total = 50'000'000;
  uint64_t sink = 0;
  auto t2 = std::chrono::steady_clock::now();
  for (uint64_t done = 0; done < total; done += out.size()) {
    job.next_batch(out.data(), out.size());
    sink += out[0].port;
  }
  auto t3 = std::chrono::steady_clock::now();
  double init_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  double ns = std::chrono::duration<double, std::nano>(t3 - t2).count() / total;
  std::printf("job init /8 x 65535 ports: %.1f us; nextBatch: %.2f ns/index (%.1f M/s) [%llu]\n", init_us, ns,
              1000.0 / ns, (unsigned long long)(sink & 1));
}

int main(int argc, char** argv) {
  test_permutation();
  test_index_space();
  test_many_segments();
  test_errors();
  test_shards_and_progress();
  test_progress_random();
  if (argc > 1 && std::strcmp(argv[1], "--full") == 0) test_full_2_32_plus_1();
  if (argc > 1 && std::strcmp(argv[1], "--bench") == 0) bench();
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("job_test: all checks passed\n");
  return 0;
}
