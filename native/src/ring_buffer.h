// Single-producer/single-consumer ring of fixed-size records (after rigtorp/SPSCQueue).
//
// - Power-of-two capacity, 64-bit indices that never wrap in practice (slot = index & mask),
//   so full/empty need no spare slot and the consumer can hand out contiguous spans.
// - The producer's index and its cached copy of the consumer's index share one cache line,
//   the consumer's index and its cached copy of the producer's another: each side reloads
//   the other's line only when its cached view says full (producer) or empty (consumer).
// - acquire/release atomics only; no locks; all memory is allocated in the constructor.
// - Slots are zeroed at construction and 64-byte aligned, so an external ArrayBuffer over
//   them (the zero-copy hand-off to JavaScript) never exposes uninitialised memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace portflow {

inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "records are copied as bytes");

 public:
  // Throws std::invalid_argument unless capacity is a power of two in [2, 2^31].
  explicit SpscRing(size_t capacity) : capacity_(capacity), mask_(capacity - 1) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0 || capacity > (size_t{1} << 31)) {
      throw std::invalid_argument("ring capacity must be a power of two from 2 to 2^31");
    }
    bytes_ = (capacity * sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
    slots_ = static_cast<T*>(std::aligned_alloc(kCacheLine, bytes_));
    if (slots_ == nullptr) throw std::bad_alloc();
    std::memset(static_cast<void*>(slots_), 0, bytes_);
  }
  ~SpscRing() { std::free(slots_); }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // ---- producer thread only ----

  // The next free slot, or nullptr when full. Fill it, then Commit().
  T* Claim() {
    if (write_ - tail_cache_ == capacity_) {
      Flush();  // a full ring of unpublished records would wait forever
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (write_ - tail_cache_ == capacity_) return nullptr;
    }
    return &slots_[write_ & mask_];
  }

  // Counts the slot returned by the last Claim() as written. The consumer sees it after
  // Flush(): publishing once per batch keeps the shared index's cache line from
  // bouncing between cores on every record.
  void Commit() { ++write_; }
  void Flush(std::memory_order order = std::memory_order_release) { head_.store(write_, order); }

  bool TryPush(const T& v) {
    T* slot = Claim();
    if (slot == nullptr) return false;
    std::memcpy(static_cast<void*>(slot), &v, sizeof(T));
    Commit();
    Flush();
    return true;
  }

  // ---- consumer thread only ----

  // Records ready to read; reloads the producer's index only when the cached one is used up.
  size_t Available() {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (head_cache_ == tail) head_cache_ = head_.load(std::memory_order_acquire);
    return static_cast<size_t>(head_cache_ - tail);
  }

  // Always reads the producer's index (one acquire per call): for the JS drain's per-batch sync.
  size_t AvailableFresh(std::memory_order order = std::memory_order_acquire) {
    head_cache_ = head_.load(order);
    return static_cast<size_t>(head_cache_ - tail_.load(std::memory_order_relaxed));
  }

  // The i-th readable record (i < Available()).
  const T& Peek(size_t i) const { return slots_[(tail_.load(std::memory_order_relaxed) + i) & mask_]; }

  // Hands `n` read records back to the producer.
  void Release(size_t n) { tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release); }

  bool TryPop(T* out) {
    if (Available() == 0) return false;
    std::memcpy(static_cast<void*>(out), &Peek(0), sizeof(T));
    Release(1);
    return true;
  }

  // ---- either side ----
  size_t capacity() const { return capacity_; }
  T* slots() const { return slots_; }
  size_t byte_size() const { return bytes_; }
  // Consumer's absolute index (records consumed so far).
  uint64_t tail() const { return tail_.load(std::memory_order_acquire); }
  uint64_t head() const { return head_.load(std::memory_order_acquire); }

 private:
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // written by the producer
  uint64_t write_ = 0;                                // producer's next slot (head_ once flushed)
  uint64_t tail_cache_ = 0;                           // producer's view of tail_
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // written by the consumer
  uint64_t head_cache_ = 0;                           // consumer's view of head_
  alignas(kCacheLine) T* slots_ = nullptr;            // read-only after construction
  const size_t capacity_;
  const uint64_t mask_;
  size_t bytes_ = 0;
};

}  // namespace portflow
