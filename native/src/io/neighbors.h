// Neighbour resolution with our own ARP requests and NDP neighbour solicitations, sent
// and read on one AF_PACKET socket bound to the plan's interface (as nmap resolves
// on-link hosts): what finds a gateway MAC the kernel does not know yet, and what ARP /
// NDP host discovery calls. Blocking and bounded; run it off the JS thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "packet/templates.h"

namespace portflow::io {

struct NeighborRequest {
  uint32_t ifindex = 0;
  uint8_t src_mac[6] = {};
  bool has_src_v4 = false;
  uint8_t src_v4[4] = {};   // ARP sender address
  bool has_src_v6 = false;
  uint8_t src_v6[16] = {};  // NS source address
  std::vector<IpAddress> addresses;
  uint32_t timeout_ms = 1000;  // wait after the last request of a round
  uint32_t retries = 2;        // rounds after the first for addresses still silent
  uint32_t rate = 10000;       // requests per second, at most
  // Set from another thread (the environment's cleanup hook: a worker terminated, the
  // process exiting) to end the resolution within ~50 ms; nullptr: never cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct NeighborAnswer {
  uint32_t index = 0;        // into NeighborRequest::addresses
  uint8_t mac[6] = {};
  double latency_ms = 0;     // reply time minus the time of the last request sent before it
};

struct NeighborStats {
  uint64_t sent = 0;
  uint64_t received = 0;   // frames the filter let through
  int errnum = 0;          // errno of the failure, when ResolveNeighbors returns one
};

// Fills `answers` (one per address that answered, in answer order). Returns an empty
// string on success, else what failed (with errno text) for a typed error.
std::string ResolveNeighbors(const NeighborRequest& req, std::vector<NeighborAnswer>* answers, NeighborStats* stats);

}  // namespace portflow::io
