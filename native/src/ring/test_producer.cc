#include "ring/test_producer.h"

#include <chrono>
#include <ctime>

#include "packet/templates.h"

namespace portflow {

double WallClockMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

static uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

TestProducer::TestProducer(std::shared_ptr<RecordRing> ring, const TestProducerOptions& options)
    : ring_(std::move(ring)), options_(options) {
  if (options_.batch == 0) options_.batch = 1;
}

TestProducer::~TestProducer() {
  RequestStop();
  Join();
}

void TestProducer::Start() { thread_ = std::thread([this] { Run(); }); }

void TestProducer::Join() {
  if (thread_.joinable()) thread_.join();
}

void TestProducer::FillRecord(Record* r, uint64_t i, double time_ms, uint32_t send_clock) {
  BeginRecord(r, RecordKind::kTcpReply, 4, time_ms);
  uint8_t* b = r->bytes;
  b[rec::kFlags] = record_flag::kDontFragment | record_flag::kHasTimestamps | record_flag::kHasMss | record_flag::kHasWindowScale |
                   record_flag::kSackPermitted;
  StoreLe<uint16_t>(b + rec::kPort, static_cast<uint16_t>(1 + i % 65535));
  StoreLe<uint16_t>(b + rec::kLocalPort, 40000);
  b[rec::kAddr] = 10;
  b[rec::kAddr + 1] = static_cast<uint8_t>(i >> 16);
  b[rec::kAddr + 2] = static_cast<uint8_t>(i >> 8);
  b[rec::kAddr + 3] = static_cast<uint8_t>(i);
  StoreLe<uint32_t>(b + rec::kSeq, static_cast<uint32_t>(i));
  StoreLe<uint32_t>(b + rec::kAck, static_cast<uint32_t>(i >> 32));
  StoreLe<uint32_t>(b + rec::kOptionSig, 0x42953);  // M S T N W, a Linux SYN-ACK
  b[rec::kTtl] = 64;
  b[rec::kTcpFlags] = tcp_flag::kSyn | tcp_flag::kAck;
  b[rec::kWindowScale] = 7;
  b[rec::kProto] = kProtoTcp;
  StoreLe<uint16_t>(b + rec::kWindow, 65160);
  StoreLe<uint16_t>(b + rec::kMss, 1460);
  StoreLe<uint32_t>(b + rec::kEchoedSend, send_clock);
}

void TestProducer::Run() {
  const uint64_t start = MonotonicNs();
  const double ns_per_record = options_.rate > 0 ? 1e9 / options_.rate : 0;
  uint64_t i = 0;
  while (i < options_.count && !stop_.load(std::memory_order_relaxed)) {
    if (ns_per_record > 0) {
      // Sleep until this batch is due; never burst more than one batch ahead.
      const uint64_t due = start + static_cast<uint64_t>(static_cast<double>(i) * ns_per_record);
      const uint64_t now = MonotonicNs();
      if (due > now + 20000) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        continue;  // re-check stop after sleeping
      }
    }
    // Time is taken once per batch: records of one batch arrive "together".
    const double time_ms = WallClockMs();
    const uint32_t send_clock = SendClockMicros();
    const uint64_t end = std::min<uint64_t>(options_.count, i + options_.batch);
    for (; i < end; ++i) {
      Record* r = options_.block_when_full ? ring_->TryClaim() : ring_->Claim();
      if (r == nullptr) {
        if (!options_.block_when_full) continue;  // counted as overflow by Claim()
        // Backpressure: publish what is there (waking the consumer) and wait for room.
        ring_->Publish();
        while ((r = ring_->TryClaim()) == nullptr && !stop_.load(std::memory_order_relaxed)) std::this_thread::yield();
        if (r == nullptr) break;
      }
      FillRecord(r, i, time_ms, send_clock);
      ring_->Commit();
    }
    produced_.store(i, std::memory_order_relaxed);
    ring_->Publish();
  }
  if (options_.emit_counters && !stop_.load(std::memory_order_relaxed)) {
    if (Record* r = ring_->Claim()) {
      BeginRecord(r, RecordKind::kCounters, 0, WallClockMs());
      StoreLe<uint16_t>(r->bytes + rec::kProducerId, options_.producer_id);
      StoreLe<double>(r->bytes + rec::kCtrSent, static_cast<double>(i));
      StoreLe<double>(r->bytes + rec::kCtrOverflow, static_cast<double>(ring_->overflow()));
      ring_->Commit();
    }
  }
  done_.store(true, std::memory_order_release);
  ring_->Publish();  // wake JS once more so it sees `done` even if nothing was left to read
}

}  // namespace portflow
