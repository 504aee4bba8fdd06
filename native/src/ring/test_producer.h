// A producer thread that writes synthetic TCP-reply records at a set rate, so the ring
// and the hand-off to JavaScript can be tested and benchmarked before the sender and
// capture exist. Record i carries i in its seq (low 32 bits) and ack (high 32 bits)
// fields, so a consumer can check that every record arrives once and in order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/owned_thread.h"
#include "ring/record_ring.h"

namespace portflow {

struct TestProducerOptions {
  uint64_t count = 0;        // records to produce (pushed or overflowed)
  double rate = 0;           // records per second; 0: as fast as the ring allows
  uint32_t batch = 64;       // records per Publish()
  bool emit_counters = false;  // finish with a kCounters record
  bool block_when_full = false;  // wait for the consumer instead of dropping (throughput benchmarks)
  uint16_t producer_id = 0;
};

class TestProducer : public OwnedThread {
 public:
  TestProducer(std::shared_ptr<RecordRing> ring, const TestProducerOptions& options);
  ~TestProducer() override;
  TestProducer(const TestProducer&) = delete;
  TestProducer& operator=(const TestProducer&) = delete;

  void Start();
  void RequestStop() override { stop_.store(true, std::memory_order_relaxed); }
  void Join() override;

  bool done() const { return done_.load(std::memory_order_acquire); }
  uint64_t produced() const { return produced_.load(std::memory_order_relaxed); }

  // Fills record `i` of the synthetic stream (exposed for the native benchmark).
  static void FillRecord(Record* r, uint64_t i, double time_ms, uint32_t send_clock);

 private:
  void Run();

  std::shared_ptr<RecordRing> ring_;
  TestProducerOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<uint64_t> produced_{0};
};

// Wall-clock milliseconds since the Unix epoch, as records carry it.
double WallClockMs();

}  // namespace portflow
