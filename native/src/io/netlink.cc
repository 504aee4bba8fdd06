#include "io/netlink.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

namespace portflow::netlink {

namespace {

// Every receive waits at most this long: the kernel answers rtnetlink requests
// synchronously, so silence means something is badly wrong, not slow.
constexpr int kReceiveTimeoutMs = 3000;
// Dumps arrive in chunks of up to 32 KiB by default; grown on demand (MSG_TRUNC).
constexpr size_t kInitialBuffer = 64 * 1024;

uint8_t FamilyOf(uint8_t af) { return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0; }
int AfOf(uint8_t family) { return family == 4 ? AF_INET : AF_INET6; }

void ReadAddress(uint8_t af, const rtattr* rta, IpAddress* out) {
  const size_t n = RTA_PAYLOAD(rta);
  const size_t want = af == AF_INET ? 4 : 16;
  if (FamilyOf(af) == 0 || n < want) return;
  out->family = FamilyOf(af);
  std::memcpy(out->bytes, RTA_DATA(rta), want);
}

// RTA_VIA (a gateway of another family, e.g. IPv4 over an IPv6 next hop): rtvia + address.
void ReadVia(const rtattr* rta, IpAddress* out) {
  if (RTA_PAYLOAD(rta) < sizeof(rtvia)) return;
  const auto* via = static_cast<const rtvia*>(RTA_DATA(rta));
  const size_t want = via->rtvia_family == AF_INET ? 4 : 16;
  if (RTA_PAYLOAD(rta) < sizeof(rtvia) + want) return;
  out->family = FamilyOf(static_cast<uint8_t>(via->rtvia_family));
  std::memcpy(out->bytes, via->rtvia_addr, want);
}

uint32_t ReadU32(const rtattr* rta) {
  uint32_t v = 0;
  if (RTA_PAYLOAD(rta) >= 4) std::memcpy(&v, RTA_DATA(rta), 4);
  return v;
}

template <typename F>
void ForEachAttr(const rtattr* rta, size_t len, F&& f) {
  // RTA_OK/RTA_NEXT take a mutable length; a copy keeps the caller's intact.
  unsigned int left = static_cast<unsigned int>(len);
  for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) f(rta);
}

// A request in one flat buffer: header, family message, then attributes.
struct Request {
  alignas(nlmsghdr) uint8_t bytes[256] = {};
  nlmsghdr* nh() { return reinterpret_cast<nlmsghdr*>(bytes); }

  void AddAttr(uint16_t type, const void* data, size_t len) {
    const size_t at = NLMSG_ALIGN(nh()->nlmsg_len);
    const size_t total = RTA_LENGTH(len);
    if (at + RTA_ALIGN(total) > sizeof(bytes)) return;  // callers size requests for their attributes
    rtattr rta{static_cast<unsigned short>(total), type};
    std::memcpy(bytes + at, &rta, sizeof(rta));
    std::memcpy(bytes + at + RTA_LENGTH(0), data, len);
    nh()->nlmsg_len = static_cast<uint32_t>(at + RTA_ALIGN(total));
  }
};

}  // namespace

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Error Socket::Open() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) return {errno, "socket(AF_NETLINK, NETLINK_ROUTE)"};
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) return {errno, "bind(netlink)"};
  socklen_t alen = sizeof(local);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &alen) < 0) return {errno, "getsockname(netlink)"};
  port_id_ = local.nl_pid;
  timeval tv{kReceiveTimeoutMs / 1000, (kReceiveTimeoutMs % 1000) * 1000};
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) return {errno, "setsockopt(SO_RCVTIMEO)"};
  buf_.resize(kInitialBuffer);
  return {};
}

// Sends one request and hands every answer message to on_message until the ack
// (plain request) or NLMSG_DONE (dump). Messages of other sequence numbers (a
// previous request's leftovers) are skipped.
template <typename F>
Error Socket::Transact(void* req, uint32_t len, const char* what, F&& on_message) {
  auto* nh = static_cast<nlmsghdr*>(req);
  nh->nlmsg_seq = ++seq_;
  nh->nlmsg_pid = 0;
  const bool dump = (nh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd_, req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return {errno, std::string("sendto(netlink) for ") + what};
  for (;;) {
    // Peek at the size first so a large dump chunk never arrives truncated.
    ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), MSG_PEEK | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {ETIMEDOUT, std::string("waiting for the kernel's answer to ") + what};
      return {errno, std::string("recv(netlink) for ") + what};
    }
    if (static_cast<size_t>(n) > buf_.size()) buf_.resize(static_cast<size_t>(n));
    n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::string("recv(netlink) for ") + what};
    }
    int left = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf_.data()); NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_seq != seq_ || (m->nlmsg_pid != 0 && m->nlmsg_pid != port_id_)) continue;
      if (m->nlmsg_type == NLMSG_ERROR) {
        if (m->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return {EPROTO, std::string("short netlink error for ") + what};
        const int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error;
        if (err == 0) return {};  // the ack
        return {err, what};
      }
      if (m->nlmsg_type == NLMSG_DONE) {
        if (m->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int err;
          std::memcpy(&err, NLMSG_DATA(m), sizeof(int));
          if (err < 0) return {-err, what};
        }
        return {};
      }
      if (m->nlmsg_flags & NLM_F_DUMP_INTR) return {EAGAIN, std::string("the kernel's tables changed during ") + what};
      on_message(m);
      // A plain request's answer comes with NLM_F_ACK's ack after it; without
      // NLM_F_ACK a single message is the whole answer.
      if (!dump && !(m->nlmsg_flags & NLM_F_MULTI)) return {};
    }
  }
}

Error Socket::LookupRoute(const IpAddress& dst, uint32_t oif, RouteLookup* out) {
  *out = RouteLookup{};
  Request req;
  req.nh()->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.nh()->nlmsg_type = RTM_GETROUTE;
  req.nh()->nlmsg_flags = NLM_F_REQUEST;
  rtmsg query{};
  query.rtm_family = static_cast<unsigned char>(AfOf(dst.family));
  query.rtm_dst_len = dst.family == 4 ? 32 : 128;
  std::memcpy(req.bytes + NLMSG_HDRLEN, &query, sizeof(query));
  req.AddAttr(RTA_DST, dst.bytes, dst.size());
  if (oif) req.AddAttr(RTA_OIF, &oif, sizeof(oif));
  Error e = Transact(req.bytes, req.nh()->nlmsg_len, "RTM_GETROUTE", [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE) return;
    const auto* rtm = static_cast<const rtmsg*>(NLMSG_DATA(m));
    out->type = rtm->rtm_type;
    out->table = rtm->rtm_table;
    ForEachAttr(RTM_RTA(rtm), RTM_PAYLOAD(m), [&](const rtattr* a) {
      switch (a->rta_type) {
        case RTA_OIF: out->oif = ReadU32(a); break;
        case RTA_GATEWAY: ReadAddress(rtm->rtm_family, a, &out->gateway); break;
        case RTA_VIA: ReadVia(a, &out->gateway); break;
        case RTA_PREFSRC: ReadAddress(rtm->rtm_family, a, &out->prefsrc); break;
        case RTA_TABLE: out->table = ReadU32(a); break;
        default: break;
      }
    });
  });
  // No route is an answer about the destination, not a failed call.
  if (e.errnum == ENETUNREACH || e.errnum == EHOSTUNREACH || e.errnum == EACCES || e.errnum == EINVAL ||
      e.errnum == ENODEV || e.errnum == EPERM) {
    out->errnum = e.errnum;
    return {};
  }
  return e;
}

Error Socket::DumpLinks(std::vector<LinkInfo>* out) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.ifi.ifi_family = AF_UNSPEC;
  return Transact(&req, req.nh.nlmsg_len, "RTM_GETLINK", [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWLINK) return;
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(m));
    LinkInfo l;
    l.ifindex = static_cast<uint32_t>(ifi->ifi_index);
    l.type = ifi->ifi_type;
    l.flags = ifi->ifi_flags;
    ForEachAttr(IFLA_RTA(ifi), IFLA_PAYLOAD(m), [&](const rtattr* a) {
      switch (a->rta_type) {
        case IFLA_IFNAME:
          l.name.assign(static_cast<const char*>(RTA_DATA(a)), strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
          break;
        case IFLA_MTU: l.mtu = ReadU32(a); break;
        case IFLA_ADDRESS: {
          const size_t n = RTA_PAYLOAD(a) < sizeof(l.mac) ? RTA_PAYLOAD(a) : sizeof(l.mac);
          l.mac_len = static_cast<uint8_t>(n);
          std::memcpy(l.mac, RTA_DATA(a), n);
          break;
        }
        default: break;
      }
    });
    out->push_back(std::move(l));
  });
}

Error Socket::DumpAddrs(std::vector<AddrInfo>* out) {
  for (const int af : {AF_INET, AF_INET6}) {
    struct {
      nlmsghdr nh;
      ifaddrmsg ifa;
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.nh.nlmsg_type = RTM_GETADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.ifa.ifa_family = static_cast<unsigned char>(af);
    Error e = Transact(&req, req.nh.nlmsg_len, "RTM_GETADDR", [&](const nlmsghdr* m) {
      if (m->nlmsg_type != RTM_NEWADDR) return;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(m));
      AddrInfo info;
      info.ifindex = ifa->ifa_index;
      info.prefix_len = ifa->ifa_prefixlen;
      info.scope = ifa->ifa_scope;
      info.flags = ifa->ifa_flags;
      IpAddress local, address;
      ForEachAttr(IFA_RTA(ifa), IFA_PAYLOAD(m), [&](const rtattr* a) {
        switch (a->rta_type) {
          case IFA_LOCAL: ReadAddress(ifa->ifa_family, a, &local); break;
          case IFA_ADDRESS: ReadAddress(ifa->ifa_family, a, &address); break;
          case IFA_FLAGS: info.flags = ReadU32(a); break;
          default: break;
        }
      });
      // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always ours.
      info.address = local.family ? local : address;
      if (info.address.family) out->push_back(info);
    });
    if (!e.ok()) return e;
  }
  return {};
}

Error Socket::DumpRoutes(uint8_t family, std::vector<RouteInfo>* out) {
  struct {
    nlmsghdr nh;
    rtmsg rtm;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.nh.nlmsg_type = RTM_GETROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.rtm.rtm_family = static_cast<unsigned char>(AfOf(family));
  return Transact(&req, req.nh.nlmsg_len, "RTM_GETROUTE dump", [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE) return;
    const auto* rtm = static_cast<const rtmsg*>(NLMSG_DATA(m));
    if (FamilyOf(rtm->rtm_family) != family) return;
    RouteInfo r;
    r.dst.family = family;
    r.dst_len = rtm->rtm_dst_len;
    r.table = rtm->rtm_table;
    r.type = rtm->rtm_type;
    const rtattr* multipath = nullptr;
    ForEachAttr(RTM_RTA(rtm), RTM_PAYLOAD(m), [&](const rtattr* a) {
      switch (a->rta_type) {
        case RTA_DST: ReadAddress(rtm->rtm_family, a, &r.dst); break;
        case RTA_GATEWAY: ReadAddress(rtm->rtm_family, a, &r.gateway); break;
        case RTA_VIA: ReadVia(a, &r.gateway); break;
        case RTA_OIF: r.oif = ReadU32(a); break;
        case RTA_TABLE: r.table = ReadU32(a); break;
        case RTA_PRIORITY: r.priority = ReadU32(a); break;
        case RTA_MULTIPATH: multipath = a; break;
        default: break;
      }
    });
    if (!multipath) {
      out->push_back(r);
      return;
    }
    // ECMP: one entry per next hop, each with its own interface and gateway.
    size_t left = RTA_PAYLOAD(multipath);
    const auto* nh = static_cast<const rtnexthop*>(RTA_DATA(multipath));
    while (left >= sizeof(rtnexthop) && nh->rtnh_len >= sizeof(rtnexthop) && nh->rtnh_len <= left) {
      RouteInfo hop = r;
      hop.oif = static_cast<uint32_t>(nh->rtnh_ifindex);
      hop.gateway = IpAddress{};
      ForEachAttr(RTNH_DATA(nh), nh->rtnh_len - sizeof(rtnexthop), [&](const rtattr* a) {
        if (a->rta_type == RTA_GATEWAY) ReadAddress(rtm->rtm_family, a, &hop.gateway);
        else if (a->rta_type == RTA_VIA) ReadVia(a, &hop.gateway);
      });
      out->push_back(hop);
      const size_t step = RTNH_ALIGN(nh->rtnh_len);
      if (step >= left) break;
      left -= step;
      nh = reinterpret_cast<const rtnexthop*>(reinterpret_cast<const uint8_t*>(nh) + step);
    }
  });
}

Error Socket::DumpNeighbors(uint8_t family, std::vector<NeighInfo>* out) {
  struct {
    nlmsghdr nh;
    ndmsg nd;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  req.nh.nlmsg_type = RTM_GETNEIGH;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nd.ndm_family = static_cast<uint8_t>(AfOf(family));
  return Transact(&req, req.nh.nlmsg_len, "RTM_GETNEIGH", [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWNEIGH) return;
    const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(m));
    if (FamilyOf(nd->ndm_family) != family) return;
    NeighInfo n;
    n.ifindex = static_cast<uint32_t>(nd->ndm_ifindex);
    n.state = nd->ndm_state;
    ForEachAttr(reinterpret_cast<const rtattr*>(reinterpret_cast<const uint8_t*>(nd) + NLMSG_ALIGN(sizeof(ndmsg))),
                NLMSG_PAYLOAD(m, sizeof(ndmsg)), [&](const rtattr* a) {
                  switch (a->rta_type) {
                    case NDA_DST: ReadAddress(nd->ndm_family, a, &n.address); break;
                    case NDA_LLADDR: {
                      const size_t len = RTA_PAYLOAD(a) < sizeof(n.mac) ? RTA_PAYLOAD(a) : sizeof(n.mac);
                      n.mac_len = static_cast<uint8_t>(len);
                      std::memcpy(n.mac, RTA_DATA(a), len);
                      break;
                    }
                    default: break;
                  }
                });
    if (n.address.family) out->push_back(n);
  });
}

}  // namespace portflow::netlink
