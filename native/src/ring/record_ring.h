// A ring of Records shared by one native producer thread and the JavaScript consumer,
// with the overflow counter and the doorbell that wakes JavaScript.
//
// Doorbell protocol (a Dekker-style handshake between head_ and `pending_`, all seq_cst,
// no standalone fences so ThreadSanitizer can check it):
//   producer, per batch: store head; load pending_; if it flips 0→1, call the TSFN once
//   JS, per batch: release what it read, read head; when empty: store pending_ = 0, re-read
//                  head (and if records slipped in, pending_ = 1 and keep draining)
// so JavaScript is woken once when the ring goes from empty to non-empty and never misses
// a record, however the two sides interleave, while a busy ring costs no wake-ups.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/owned_thread.h"
#include "ring/record.h"
#include "ring_buffer.h"

namespace portflow {

// What the producer calls to wake the consumer (a ThreadSafeFunction in the addon).
class Waker {
 public:
  virtual ~Waker() = default;
  virtual void Wake() = 0;  // must not block
};

class RecordRing {
 public:
  explicit RecordRing(size_t capacity) : ring_(capacity) {}

  // ---- producer thread ----
  // A slot to fill and Commit(), or nullptr when full (the record is then counted as overflow).
  Record* Claim() {
    Record* r = ring_.Claim();
    if (r == nullptr) overflow_.store(overflow_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return r;
  }
  // Claim() without counting a full ring as overflow: for producers that wait instead.
  Record* TryClaim() { return ring_.Claim(); }
  void Commit() { ring_.Commit(); }
  // Call after each batch of commits: makes them visible, then rings the doorbell if
  // JavaScript is idle.
  void Publish() {
    ring_.Flush(std::memory_order_seq_cst);
    if (pending_.load(std::memory_order_seq_cst) != 0) return;
    if (pending_.exchange(1, std::memory_order_acq_rel) != 0) return;
    if (Waker* w = waker_.load(std::memory_order_acquire)) {
      wakeups_.store(wakeups_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      w->Wake();
    }
  }
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

  // ---- JavaScript thread ----
  // Releases `consumed` records, then returns how many are readable. With clear_if_empty,
  // an empty ring clears the doorbell's pending flag (and re-checks, see above).
  uint64_t Sync(uint64_t consumed, bool clear_if_empty) {
    if (consumed) ring_.Release(consumed);
    uint64_t avail = ring_.AvailableFresh();
    if (avail == 0 && clear_if_empty) {
      pending_.store(0, std::memory_order_seq_cst);
      avail = ring_.AvailableFresh(std::memory_order_seq_cst);
      if (avail != 0) pending_.store(1, std::memory_order_relaxed);
    }
    return avail;
  }

  // Set before the producer starts; cleared only after it has been joined, since the
  // producer may call Wake() on it until then.
  void SetWaker(Waker* w) { waker_.store(w, std::memory_order_release); }

  // One producer per ring. Returns false if one is attached already.
  bool AttachProducer(OwnedThread* t) {
    std::lock_guard<std::mutex> lock(mu_);
    if (producer_ != nullptr) return false;
    producer_ = t;
    return true;
  }
  void DetachProducer(OwnedThread* t) {
    std::lock_guard<std::mutex> lock(mu_);
    if (producer_ == t) producer_ = nullptr;
  }
  // Stops and joins the attached producer, if any (JS thread).
  void StopProducer() {
    OwnedThread* t;
    {
      std::lock_guard<std::mutex> lock(mu_);
      t = producer_;
    }
    if (t != nullptr) {
      t->RequestStop();
      t->Join();
    }
  }

  SpscRing<Record>& ring() { return ring_; }
  uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

 private:
  SpscRing<Record> ring_;
  alignas(kCacheLine) std::atomic<uint64_t> overflow_{0};  // producer-written
  std::atomic<uint64_t> wakeups_{0};
  alignas(kCacheLine) std::atomic<uint32_t> pending_{0};    // the doorbell's "JS has work" flag
  std::atomic<Waker*> waker_{nullptr};
  std::mutex mu_;
  OwnedThread* producer_ = nullptr;
};

}  // namespace portflow
