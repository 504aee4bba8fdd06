#pragma once

#include <napi.h>

namespace portflow {

// buildTcp, buildUdp, buildIcmpEcho, buildIcmpTimestamp, buildArpRequest,
// buildNdpSolicit, parse, sendClock. For tests and tools: never per packet.
void InitPacket(Napi::Env env, Napi::Object exports);

}  // namespace portflow
