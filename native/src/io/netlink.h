// rtnetlink (NETLINK_ROUTE) over a raw netlink socket: the kernel's own route lookup
// for a destination, and dumps of links, addresses, routes and neighbours. Blocking
// calls (bounded by a receive timeout); run them off the JS thread (link_binding.cc).
// Everything is read in the caller's network namespace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "packet/templates.h"

namespace portflow::netlink {

// An error from the kernel (negative errno in an NLMSG_ERROR) or from the socket.
struct Error {
  int errnum = 0;    // 0: no error
  std::string what;  // what was being done, for the message
  bool ok() const { return errnum == 0 && what.empty(); }
};

// RTM_GETROUTE for one destination: what the kernel would do with a packet to it.
struct RouteLookup {
  int errnum = 0;          // ENETUNREACH, EHOSTUNREACH, ...: no usable route (not a failure of the call)
  uint32_t oif = 0;        // outgoing interface
  uint8_t type = 0;        // RTN_UNICAST, RTN_LOCAL, ...
  uint32_t table = 0;
  IpAddress gateway;       // family 0: on-link (no gateway)
  IpAddress prefsrc;       // family 0: none
};

struct LinkInfo {
  uint32_t ifindex = 0;
  std::string name;
  uint16_t type = 0;       // ARPHRD_*
  uint32_t flags = 0;      // IFF_*
  uint32_t mtu = 0;
  uint8_t mac_len = 0;     // bytes of `mac` valid (6 for Ethernet, 0 for none/tun)
  uint8_t mac[32] = {};
};

struct AddrInfo {
  uint32_t ifindex = 0;
  IpAddress address;
  uint8_t prefix_len = 0;
  uint8_t scope = 0;       // RT_SCOPE_*
  uint32_t flags = 0;      // IFA_F_* (IFA_FLAGS when present: 32 bits)
};

struct RouteInfo {
  IpAddress dst;           // family set, bytes zero for a default route
  uint8_t dst_len = 0;
  IpAddress gateway;       // family 0: on-link
  uint32_t oif = 0;
  uint32_t table = 0;
  uint32_t priority = 0;   // metric
  uint8_t type = 0;        // RTN_*
};

struct NeighInfo {
  uint32_t ifindex = 0;
  IpAddress address;
  uint16_t state = 0;      // NUD_*
  uint8_t mac_len = 0;
  uint8_t mac[32] = {};
};

// One NETLINK_ROUTE socket (RAII). Requests are answered in order; a receive timeout
// bounds every call, so a kernel that never answers cannot hang a worker.
class Socket {
 public:
  Socket() = default;
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  Error Open();

  // The kernel's lookup for `dst` (through `oif` when nonzero). A route error
  // (unreachable, ...) is reported in out->errnum, not as an Error.
  Error LookupRoute(const IpAddress& dst, uint32_t oif, RouteLookup* out);
  Error DumpLinks(std::vector<LinkInfo>* out);
  Error DumpAddrs(std::vector<AddrInfo>* out);                  // IPv4 and IPv6
  Error DumpRoutes(uint8_t family, std::vector<RouteInfo>* out);  // family 4 or 6; every table
  Error DumpNeighbors(uint8_t family, std::vector<NeighInfo>* out);

 private:
  template <typename F>
  Error Transact(void* req, uint32_t len, const char* what, F&& on_message);

  int fd_ = -1;
  uint32_t seq_ = 0;
  uint32_t port_id_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace portflow::netlink
