// The SPSC ring and the doorbell handshake under two threads; built with
// ThreadSanitizer by `make tsan`. `ring_test --bench N` times N records between two threads.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "check.h"
#include "ring/record_ring.h"
#include "ring/test_producer.h"
#include "ring_buffer.h"

using namespace portflow;

TEST(construction_checks_invariants) {
  for (size_t bad : {size_t{0}, size_t{1}, size_t{3}, size_t{100}, (size_t{1} << 31) + 2}) {
    bool threw = false;
    try {
      SpscRing<Record> r(bad);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    CHECK(threw);
  }
  SpscRing<Record> r(8);
  CHECK_EQ(r.capacity(), 8u);
  CHECK_EQ(reinterpret_cast<uintptr_t>(r.slots()) % 64, 0u);
  CHECK_EQ(r.byte_size(), 8u * 64);
  CHECK_EQ(r.slots()[5].bytes[17], 0);  // zeroed: JS never sees stale memory
}

TEST(single_thread_fill_and_drain) {
  SpscRing<uint64_t> r(4);
  for (uint64_t i = 0; i < 4; ++i) CHECK(r.TryPush(i));
  CHECK(!r.TryPush(99));
  CHECK_EQ(r.Available(), 4u);
  uint64_t v = 0;
  CHECK(r.TryPop(&v));
  CHECK_EQ(v, 0u);
  CHECK(r.TryPush(4));
  for (uint64_t i = 1; i <= 4; ++i) {
    CHECK(r.TryPop(&v));
    CHECK_EQ(v, i);
  }
  CHECK(!r.TryPop(&v));
}

// Every record arrives once, in order, across two threads and many wrap-arounds.
TEST(two_threads_every_record_once_in_order) {
  constexpr uint64_t kCount = 2'000'000;
  SpscRing<Record> ring(256);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      Record* r;
      while ((r = ring.Claim()) == nullptr) std::this_thread::yield();
      TestProducer::FillRecord(r, i, 0, 0);
      ring.Commit();
      if ((i & 15) == 15) ring.Flush();
    }
    ring.Flush();
  });
  uint64_t expect = 0, errors = 0;
  while (expect < kCount) {
    const size_t n = ring.Available();
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (size_t k = 0; k < n; ++k) {
      const uint8_t* b = ring.Peek(k).bytes;
      const uint64_t got = LoadLe<uint32_t>(b + rec::kSeq) | static_cast<uint64_t>(LoadLe<uint32_t>(b + rec::kAck)) << 32;
      if (got != expect || b[rec::kKind] != static_cast<uint8_t>(RecordKind::kTcpReply)) ++errors;
      ++expect;
    }
    ring.Release(n);
  }
  producer.join();
  CHECK_EQ(errors, 0u);
  CHECK_EQ(expect, kCount);
}

// The JS side's protocol, run by a native consumer thread: drain on wake, clear the
// pending flag when empty and re-check. No record is ever left unseen with the consumer
// asleep, and wake-ups are coalesced (far fewer than batches).
class CountingWaker : public Waker {
 public:
  void Wake() override {
    wakes.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu);
    signalled = true;
    cv.notify_one();
  }
  std::atomic<uint64_t> wakes{0};
  std::mutex mu;
  std::condition_variable cv;
  bool signalled = false;
};

TEST(doorbell_never_loses_a_wakeup) {
  constexpr uint64_t kCount = 500'000;
  auto ring = std::make_shared<RecordRing>(1024);
  CountingWaker waker;
  ring->SetWaker(&waker);
  TestProducerOptions opt;
  opt.count = kCount;
  opt.batch = 7;
  opt.emit_counters = true;
  TestProducer producer(ring, opt);
  producer.Start();
  uint64_t received = 0, batches = 0, empty_syncs = 0;
  bool saw_counters = false;
  uint64_t next = 0, order_errors = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(waker.mu);
      // A lost wake-up would hang here; the timeout turns it into a failure instead.
      if (!waker.cv.wait_for(lock, std::chrono::seconds(10), [&] { return waker.signalled; })) break;
      waker.signalled = false;
    }
    uint64_t consumed = 0;
    for (;;) {
      const uint64_t avail = ring->Sync(consumed, true);
      if (avail == 0) {
        ++empty_syncs;
        break;
      }
      for (uint64_t k = 0; k < avail; ++k) {
        const uint8_t* b = ring->ring().Peek(k).bytes;
        if (b[rec::kKind] == static_cast<uint8_t>(RecordKind::kCounters)) {
          saw_counters = true;
          continue;
        }
        const uint64_t seq = LoadLe<uint32_t>(b + rec::kSeq);
        if (seq < next) ++order_errors;
        next = seq + 1;
        ++received;
      }
      consumed = avail;
      ++batches;
    }
    if (producer.done()) {
      const uint64_t left = ring->Sync(0, true);
      if (left == 0) ++empty_syncs;
      if (left == 0) break;
    }
  }
  producer.Join();
  ring->SetWaker(nullptr);
  CHECK(producer.done());
  CHECK_EQ(order_errors, 0u);
  // Every record delivered or counted as overflow (the final counters record included).
  CHECK_EQ(received + ring->overflow(), kCount + (saw_counters ? 0 : 1));
  // Wake-ups are coalesced: one per empty→non-empty transition the consumer saw,
  // far fewer than the producer's batches.
  CHECK(waker.wakes.load() <= empty_syncs + 1);
  CHECK(waker.wakes.load() < kCount / opt.batch);
  std::printf("  doorbell: %llu records in %llu drain batches, %llu wake-ups, %llu overflowed\n",
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(batches),
              static_cast<unsigned long long>(waker.wakes.load()), static_cast<unsigned long long>(ring->overflow()));
}

TEST(overflow_is_counted_exactly_when_the_consumer_stalls) {
  auto ring = std::make_shared<RecordRing>(64);
  TestProducerOptions opt;
  opt.count = 1000;
  TestProducer producer(ring, opt);
  producer.Start();
  producer.Join();  // the consumer "stalls" until the producer is done
  CHECK_EQ(ring->overflow(), 1000u - 64u);
  CHECK_EQ(ring->Sync(0, true), 64u);
  for (uint64_t k = 0; k < 64; ++k) CHECK_EQ(LoadLe<uint32_t>(ring->ring().Peek(k).bytes + rec::kSeq), k);
}

static int Bench(uint64_t count) {
  for (int round = 0; round < 5; ++round) {
    SpscRing<Record> ring(65536);
    const auto t0 = std::chrono::steady_clock::now();
    std::thread producer([&] {
      for (uint64_t i = 0; i < count; ++i) {
        Record* r;
        while ((r = ring.Claim()) == nullptr) {
        }
        TestProducer::FillRecord(r, i, 0, 0);
        ring.Commit();
        if ((i & 255) == 255) ring.Flush();  // publish per 256, as the addon's benchmark does
      }
      ring.Flush();
    });
    uint64_t got = 0, sum = 0;
    while (got < count) {
      const size_t n = ring.Available();
      for (size_t k = 0; k < n; ++k) sum += ring.Peek(k).bytes[rec::kSeq];
      if (n) ring.Release(n);
      got += n;
    }
    producer.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("ring native->native: %.1f M records/s (%llu)\n", static_cast<double>(count) / s / 1e6, static_cast<unsigned long long>(sum & 1));
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--bench") == 0) return Bench(std::strtoull(argv[2], nullptr, 10));
  return check::RunAll("cpp ring tests (ThreadSanitizer)");
}
