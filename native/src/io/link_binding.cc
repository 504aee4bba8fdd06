#include "io/link_binding.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "io/neighbors.h"
#include "io/netlink.h"
#include "io/privilege.h"

namespace portflow::io {

namespace {

[[noreturn]] void ThrowCode(Napi::Env env, const char* code, const std::string& msg) {
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

bool ParseIp(const std::string& text, IpAddress* out) {
  *out = IpAddress{};
  if (inet_pton(AF_INET, text.c_str(), out->bytes) == 1) {
    out->family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) {
    out->family = 6;
    return true;
  }
  return false;
}

Napi::Value IpValue(Napi::Env env, const IpAddress& a) {
  if (a.family == 0) return env.Null();
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.bytes, buf, sizeof(buf));
  return Napi::String::New(env, buf);
}

Napi::Value MacValue(Napi::Env env, const uint8_t* mac, size_t len) {
  if (len == 0) return env.Null();
  std::string s;
  char b[4];
  for (size_t i = 0; i < len; i++) {
    std::snprintf(b, sizeof(b), i ? ":%02x" : "%02x", mac[i]);
    s += b;
  }
  return Napi::String::New(env, s);
}

// One JS object per element, filled by `fill(object, element, index)`.
template <typename T, typename Fill>
Napi::Array ObjectsOf(Napi::Env env, const std::vector<T>& items, Fill fill) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    fill(o, items[i], i);
    out.Set(i, o);
  }
  return out;
}

Napi::Error SystemError(Napi::Env env, int errnum, const std::string& what) {
  const char* name = errnum ? strerrorname_np(errnum) : nullptr;
  Napi::Error e = Napi::Error::New(env, what + (errnum ? std::string(": ") + std::strerror(errnum) : std::string()));
  e.Set("code", Napi::String::New(env, "ERR_LINK_SYSTEM"));
  if (name) e.Set("errno", Napi::String::New(env, name));
  return e;
}

std::string StringOption(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsString()) ThrowCode(env, "ERR_LINK_OPTION", std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t UintOption(Napi::Env env, const Napi::Object& o, const char* key, uint32_t min, uint32_t max) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) ThrowCode(env, "ERR_LINK_OPTION", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d)))
    ThrowCode(env, "ERR_LINK_OPTION", std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return static_cast<uint32_t>(d);
}

// linkSnapshot({ addresses: string[], interface?: string }) -> Promise<Snapshot>:
// the kernel's lookup for every address (through the named interface when given), then
// the links, addresses, routes and neighbours of the interfaces those lookups chose.
class SnapshotWorker : public Napi::AsyncWorker {
 public:
  SnapshotWorker(Napi::Env env, std::vector<IpAddress> addresses, std::string ifname)
      : Napi::AsyncWorker(env, "portflow.linkSnapshot"), deferred_(env), addresses_(std::move(addresses)), ifname_(std::move(ifname)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    // A dump the kernel marks interrupted (NLM_F_DUMP_INTR: a table changed meanwhile)
    // is read again from the start, a bounded number of times.
    for (int attempt = 0; attempt < 3; attempt++) {
      Snapshot();
      if (error_.errnum != EAGAIN) return;
    }
  }

  void Snapshot() {
    error_ = netlink::Error{};
    missing_interface_ = false;
    lookups_.clear();
    links_.clear();
    addrs_.clear();
    routes_.clear();
    neighbors_.clear();
    netlink::Socket nl;
    if (!Check(nl.Open())) return;
    std::vector<netlink::LinkInfo> all_links;
    if (!Check(nl.DumpLinks(&all_links))) return;
    uint32_t forced = 0;
    if (!ifname_.empty()) {
      for (const auto& l : all_links)
        if (l.name == ifname_) forced = l.ifindex;
      if (!forced) {
        missing_interface_ = true;
        links_ = std::move(all_links);  // so the error can list what exists
        return;
      }
    }
    lookups_.resize(addresses_.size());
    std::set<uint32_t> oifs;
    if (forced) oifs.insert(forced);
    for (size_t i = 0; i < addresses_.size(); i++) {
      if (!Check(nl.LookupRoute(addresses_[i], forced, &lookups_[i]))) return;
      if (lookups_[i].errnum == 0 && lookups_[i].oif) oifs.insert(lookups_[i].oif);
    }
    for (auto& l : all_links)
      if (oifs.count(l.ifindex)) links_.push_back(std::move(l));
    std::vector<netlink::AddrInfo> addrs;
    if (!Check(nl.DumpAddrs(&addrs))) return;
    for (const auto& a : addrs)
      if (oifs.count(a.ifindex)) addrs_.push_back(a);
    for (const uint8_t family : {4, 6}) {
      std::vector<netlink::RouteInfo> routes;
      if (!Check(nl.DumpRoutes(family, &routes))) return;
      for (const auto& r : routes)
        if (oifs.count(r.oif) && (r.type == RTN_UNICAST || r.type == RTN_LOCAL)) routes_.push_back(r);
      std::vector<netlink::NeighInfo> neigh;
      if (!Check(nl.DumpNeighbors(family, &neigh))) return;
      for (const auto& n : neigh)
        if (oifs.count(n.ifindex)) neighbors_.push_back(n);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_.errnum || !error_.what.empty()) {
      deferred_.Reject(SystemError(env, error_.errnum, "netlink " + error_.what).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("missingInterface", Napi::Boolean::New(env, missing_interface_));
    out.Set("lookups", ObjectsOf(env, lookups_, [&](Napi::Object o, const auto& l, size_t i) {
      o.Set("address", IpValue(env, addresses_[i]));
      const char* err = l.errnum ? strerrorname_np(l.errnum) : nullptr;
      o.Set("error", err ? Napi::Value(Napi::String::New(env, err)) : env.Null());
      o.Set("oif", l.oif);
      o.Set("type", l.type);
      o.Set("table", l.table);
      o.Set("gateway", IpValue(env, l.gateway));
      o.Set("prefsrc", IpValue(env, l.prefsrc));
    }));
    out.Set("links", ObjectsOf(env, links_, [&](Napi::Object o, const auto& l, size_t) {
      o.Set("ifindex", l.ifindex);
      o.Set("name", l.name);
      o.Set("type", l.type);
      o.Set("flags", l.flags);
      o.Set("mtu", l.mtu);
      o.Set("mac", MacValue(env, l.mac, l.mac_len));
    }));
    out.Set("addresses", ObjectsOf(env, addrs_, [&](Napi::Object o, const auto& a, size_t) {
      o.Set("ifindex", a.ifindex);
      o.Set("address", IpValue(env, a.address));
      o.Set("prefixLen", a.prefix_len);
      o.Set("scope", a.scope);
      o.Set("flags", a.flags);
    }));
    out.Set("routes", ObjectsOf(env, routes_, [&](Napi::Object o, const auto& r, size_t) {
      o.Set("family", r.dst.family);
      o.Set("dst", IpValue(env, r.dst));
      o.Set("dstLen", r.dst_len);
      o.Set("gateway", IpValue(env, r.gateway));
      o.Set("oif", r.oif);
      o.Set("table", r.table);
      o.Set("priority", r.priority);
      o.Set("type", r.type);
    }));
    out.Set("neighbors", ObjectsOf(env, neighbors_, [&](Napi::Object o, const auto& n, size_t) {
      o.Set("ifindex", n.ifindex);
      o.Set("address", IpValue(env, n.address));
      o.Set("state", n.state);
      o.Set("mac", MacValue(env, n.mac, n.mac_len));
    }));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  bool Check(const netlink::Error& e) {
    if (e.ok()) return true;
    error_ = e;
    return false;
  }

  Napi::Promise::Deferred deferred_;
  std::vector<IpAddress> addresses_;
  std::string ifname_;
  netlink::Error error_;
  bool missing_interface_ = false;
  std::vector<netlink::RouteLookup> lookups_;
  std::vector<netlink::LinkInfo> links_;
  std::vector<netlink::AddrInfo> addrs_;
  std::vector<netlink::RouteInfo> routes_;
  std::vector<netlink::NeighInfo> neighbors_;
};

Napi::Value LinkSnapshot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowCode(env, "ERR_LINK_OPTION", "linkSnapshot expects an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value list = o.Get("addresses");
  if (!list.IsArray()) ThrowCode(env, "ERR_LINK_OPTION", "addresses must be an array of IP addresses");
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<IpAddress> addresses(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString() || !ParseIp(v.As<Napi::String>().Utf8Value(), &addresses[i]))
      ThrowCode(env, "ERR_LINK_OPTION", "addresses[" + std::to_string(i) + "] is not an IP address");
  }
  auto* w = new SnapshotWorker(env, std::move(addresses), StringOption(env, o, "interface"));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// resolveNeighbors({ ifindex, srcMac, srcV4?, srcV6?, addresses, timeoutMs, retries, rate })
//   -> Promise<Array<[index, mac, latencyMs]>> (answered addresses only) with .sent / .received.
// On its own thread, not the libuv pool: a resolution may wait minutes (timeoutMs x rounds),
// and a worker's environment waits for its pool work before it runs any cleanup hook, so a
// terminated worker would hang that long. This thread is cancelled by a cleanup hook
// (registered after its TSFN, so it runs first) and joined within ~50 ms.
class NeighborJob {
 public:
  static Napi::Promise Start(Napi::Env env, NeighborRequest req) {
    auto* job = new NeighborJob(env, std::move(req));
    Napi::Promise p = job->deferred_.Promise();
    // The TSFN owns the job from here: its finalizer deletes it (after the result was
    // delivered, or at the environment's teardown).
    job->tsfn_ = Tsfn::New(env, Napi::Function(), "portflow.resolveNeighbors", 0, 1, job, [](Napi::Env, void*, NeighborJob* j) { delete j; });
    napi_add_env_cleanup_hook(env, &NeighborJob::Cancel, job);
    job->hook_ = true;
    try {
      job->thread_ = std::thread([job] {
        job->error_ = ResolveNeighbors(job->req_, &job->answers_, &job->stats_);
        job->tsfn_.BlockingCall(job);  // queue size 0: never blocks; napi_closing at teardown
      });
    } catch (const std::system_error& e) {
      job->error_ = std::string("cannot start a thread: ") + e.what();
      job->Deliver(env);
    }
    return p;
  }

 private:
  static void CallJs(Napi::Env env, Napi::Function, NeighborJob* job, NeighborJob*) {
    if (env == nullptr || job == nullptr) return;  // torn down: the hook joined the thread
    job->Deliver(env);
  }
  using Tsfn = Napi::TypedThreadSafeFunction<NeighborJob, NeighborJob, &NeighborJob::CallJs>;

  NeighborJob(Napi::Env env, NeighborRequest req) : env_(env), deferred_(Napi::Promise::Deferred::New(env)), req_(std::move(req)) {
    req_.cancel = &cancel_;
  }

  static void Cancel(void* arg) {
    auto* job = static_cast<NeighborJob*>(arg);
    job->hook_ = false;
    job->cancel_.store(true, std::memory_order_relaxed);
    if (job->thread_.joinable()) job->thread_.join();
  }

  // JS thread: join, settle the promise, let the TSFN go (its finalizer deletes this).
  void Deliver(Napi::Env env) {
    if (thread_.joinable()) thread_.join();
    if (hook_) napi_remove_env_cleanup_hook(env_, &NeighborJob::Cancel, this);
    hook_ = false;
    if (!error_.empty()) {
      const bool perm = stats_.errnum == EPERM || stats_.errnum == EACCES;
      Napi::Error e = Napi::Error::New(env, perm ? std::string(kRawPrivilegeMessage) : "neighbour resolution failed: " + error_);
      e.Set("code", Napi::String::New(env, perm ? "EPERM" : "ERR_LINK_SYSTEM"));
      deferred_.Reject(e.Value());
    } else {
      Napi::Array out = Napi::Array::New(env, answers_.size());
      for (size_t i = 0; i < answers_.size(); i++) {
        Napi::Array a = Napi::Array::New(env, 3);
        a.Set(0u, answers_[i].index);
        a.Set(1u, MacValue(env, answers_[i].mac, 6));
        a.Set(2u, answers_[i].latency_ms);
        out.Set(i, a);
      }
      out.Set("sent", static_cast<double>(stats_.sent));
      out.Set("received", static_cast<double>(stats_.received));
      deferred_.Resolve(out);
    }
    tsfn_.Release();
  }

  napi_env env_;
  Napi::Promise::Deferred deferred_;
  NeighborRequest req_;
  Tsfn tsfn_;
  std::thread thread_;
  std::atomic<bool> cancel_{false};
  bool hook_ = false;
  std::string error_;
  std::vector<NeighborAnswer> answers_;
  NeighborStats stats_;
};

bool MacOption(Napi::Env env, const Napi::Object& o, const char* key, uint8_t out[6]) {
  const std::string s = StringOption(env, o, key);
  unsigned v[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return false;
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

Napi::Value ResolveNeighborsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowCode(env, "ERR_LINK_OPTION", "resolveNeighbors expects an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  NeighborRequest req;
  req.ifindex = UintOption(env, o, "ifindex", 1, 0x7fffffff);
  if (!MacOption(env, o, "srcMac", req.src_mac)) ThrowCode(env, "ERR_LINK_OPTION", "srcMac must be a MAC address like 02:00:00:00:00:01");
  IpAddress a;
  const std::string v4 = StringOption(env, o, "srcV4"), v6 = StringOption(env, o, "srcV6");
  if (!v4.empty()) {
    if (!ParseIp(v4, &a) || a.family != 4) ThrowCode(env, "ERR_LINK_OPTION", "srcV4 must be an IPv4 address");
    req.has_src_v4 = true;
    std::memcpy(req.src_v4, a.bytes, 4);
  }
  if (!v6.empty()) {
    if (!ParseIp(v6, &a) || a.family != 6) ThrowCode(env, "ERR_LINK_OPTION", "srcV6 must be an IPv6 address");
    req.has_src_v6 = true;
    std::memcpy(req.src_v6, a.bytes, 16);
  }
  Napi::Value list = o.Get("addresses");
  if (!list.IsArray()) ThrowCode(env, "ERR_LINK_OPTION", "addresses must be an array of IP addresses");
  Napi::Array arr = list.As<Napi::Array>();
  req.addresses.resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString() || !ParseIp(v.As<Napi::String>().Utf8Value(), &req.addresses[i]))
      ThrowCode(env, "ERR_LINK_OPTION", "addresses[" + std::to_string(i) + "] is not an IP address");
    if (req.addresses[i].family == 4 && !req.has_src_v4)
      ThrowCode(env, "ERR_LINK_OPTION", "addresses[" + std::to_string(i) + "] is IPv4 but there is no srcV4 to send ARP from");
    if (req.addresses[i].family == 6 && !req.has_src_v6)
      ThrowCode(env, "ERR_LINK_OPTION", "addresses[" + std::to_string(i) + "] is IPv6 but there is no srcV6 to send NDP from");
  }
  req.timeout_ms = UintOption(env, o, "timeoutMs", 1, 600000);
  req.retries = UintOption(env, o, "retries", 0, 100);
  req.rate = UintOption(env, o, "rate", 1, 10000000);
  return NeighborJob::Start(env, std::move(req));
}

}  // namespace

void InitLink(Napi::Env env, Napi::Object exports) {
  exports.Set("linkSnapshot", Napi::Function::New(env, LinkSnapshot, "linkSnapshot"));
  exports.Set("resolveNeighbors", Napi::Function::New(env, ResolveNeighborsJs, "resolveNeighbors"));
  InitPrivilege(env, exports);
}

}  // namespace portflow::io
