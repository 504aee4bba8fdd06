#pragma once

#include <napi.h>

namespace portflow::io {

// exports.linkSnapshot (the netlink facts planLink() needs), exports.resolveNeighbors
// (ARP / NDP over AF_PACKET) and exports.checkRawPrivilege. Both async calls run on
// libuv's thread pool and return Promises. ts/link-plan.ts is the typed wrapper.
void InitLink(Napi::Env env, Napi::Object exports);

}  // namespace portflow::io
