// The native record format, version 1: what every producer thread (sender, capture,
// scan job, the test producer) writes into its ring and JavaScript decodes in place.
// 64 bytes, one cache line, little-endian; offsets are the contract documented in
// docs/ARCHITECTURE.md ("Native record format (version 1)") and mirrored in ts/record.ts.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/bytes.h"

namespace portflow {

inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kRecordSize = 64;

struct alignas(64) Record {
  uint8_t bytes[kRecordSize];
};
static_assert(sizeof(Record) == kRecordSize);

enum class RecordKind : uint8_t {
  kTcpReply = 1,       // SYN-ACK, RST, ... from a probed port
  kUdpReply = 2,       // a UDP datagram back from a probed port
  kIcmpError = 3,      // unreachable / time exceeded / ..., with the probe it quotes
  kNeighborReply = 4,  // ARP reply or NDP neighbour advertisement
  kNoAnswer = 5,       // a probe that got nothing back after its last retry
  kRetriesSent = 6,    // retries sent since the previous such record (a count, not one each)
  kCounters = 7,       // a snapshot of a producer's counters
  kIcmpReply = 8,      // ICMP/ICMPv6 echo or timestamp reply (host discovery)
};

namespace record_flag {
inline constexpr uint8_t kDontFragment = 1 << 0;
inline constexpr uint8_t kChecksumPartial = 1 << 1;  // the kernel had not computed it; not verified
inline constexpr uint8_t kHasTimestamps = 1 << 2;    // TCP timestamps option present
inline constexpr uint8_t kHasMss = 1 << 3;
inline constexpr uint8_t kHasWindowScale = 1 << 4;
inline constexpr uint8_t kSackPermitted = 1 << 5;
inline constexpr uint8_t kNdp = 1 << 6;              // neighbour reply came by NDP (else ARP)
// Written by a producer that walks the scan job itself (the connect engine): bytes 56-63 hold
// the probe's job position (f64, exact below 2^53) instead of mss / quotedSeq / echoedSend.
inline constexpr uint8_t kJobPosition = 1 << 7;
}  // namespace record_flag

// Byte offsets.
namespace rec {
inline constexpr size_t kVersion = 0;     // u8
inline constexpr size_t kKind = 1;        // u8 RecordKind
inline constexpr size_t kFamily = 2;      // u8 4 | 6 | 0
inline constexpr size_t kFlags = 3;       // u8 record_flag
inline constexpr size_t kPort = 4;        // u16 remote port (reply's source / probe's destination)
inline constexpr size_t kLocalPort = 6;   // u16 our port (reply's destination / probe's source)
inline constexpr size_t kTimeMs = 8;      // f64 wall-clock ms since the Unix epoch (receive time)
inline constexpr size_t kAddr = 16;       // 16 bytes: the target's address (IPv4 in the first 4)
inline constexpr size_t kAux = 32;        // 16 bytes, per kind (below)
inline constexpr size_t kTtl = 48;        // u8 TTL / hop limit of the reply
inline constexpr size_t kTcpFlags = 49;   // u8 TCP flags | ICMP type
inline constexpr size_t kIcmpType = 49;
inline constexpr size_t kIcmpCode = 50;   // u8 ICMP code | TCP window scale
inline constexpr size_t kWindowScale = 50;
inline constexpr size_t kProto = 51;      // u8 IP protocol of the probe (6, 17, 1, 58)
inline constexpr size_t kWindow = 52;     // u16 TCP window
inline constexpr size_t kIpId = 54;       // u16 IPv4 ID of the reply
inline constexpr size_t kMss = 56;        // u16 TCP MSS option (kTcpReply)
inline constexpr size_t kQuotedSeq = 56;  // u32 quoted TCP sequence number (kIcmpError)
inline constexpr size_t kEchoedSend = 60; // u32 echoed send clock, µs mod 2^32 (TCP TSecr / ICMP payload); 0: none
// kAux for kTcpReply:
inline constexpr size_t kSeq = 32;        // u32
inline constexpr size_t kAck = 36;        // u32
inline constexpr size_t kTsval = 40;      // u32 the peer's own TSval
inline constexpr size_t kOptionSig = 44;  // u32 option layout, 4 bits per option (parser's TcpOptionSignature)
// kAux for kIcmpError: 16 bytes, the address that sent the error (a router or the target).
inline constexpr size_t kReporter = 32;
// kAux for kNeighborReply: 6 bytes MAC.
inline constexpr size_t kMac = 32;
// kAux for kUdpReply: u32 payload length.  kNoAnswer: u32 probes sent.  kRetriesSent: u32 count.
inline constexpr size_t kCount = 32;
// kNoAnswer from the connect engine: u32 errno the connect failed with locally (0: timed out).
inline constexpr size_t kLocalErrno = 36;
// kRetriesSent naming its probe (family 4/6, addr, port): u32 attempt number of the resend (2 = first resend).
inline constexpr size_t kAttempt = 36;
// With record_flag::kJobPosition: f64 job position of the probe.
inline constexpr size_t kPosition = 56;
// kAux for kIcmpReply: u16 id, u16 seq.
inline constexpr size_t kEchoId = 32;
inline constexpr size_t kEchoSeq = 34;
// kCounters: six f64 counters from byte 16.
inline constexpr size_t kCtrSent = 16;
inline constexpr size_t kCtrReceived = 24;
inline constexpr size_t kCtrRetries = 32;
inline constexpr size_t kCtrOverflow = 40;   // records this producer could not push (ring full)
inline constexpr size_t kCtrParseErrors = 48;
inline constexpr size_t kCtrKernelDrops = 56;
inline constexpr size_t kProducerId = 4;     // u16 in kCounters (replaces kPort)
}  // namespace rec

// Starts a record of `kind`: zeroes it, writes the version, kind, family and time.
inline void BeginRecord(Record* r, RecordKind kind, uint8_t family, double time_ms) {
  // Four 16-byte stores: a plain memset of this size may become `rep stos`, slow to start.
  alignas(16) static constexpr uint8_t kZero[16] = {};
  for (size_t i = 0; i < kRecordSize; i += 16) __builtin_memcpy(r->bytes + i, kZero, 16);
  r->bytes[rec::kVersion] = kRecordVersion;
  r->bytes[rec::kKind] = static_cast<uint8_t>(kind);
  r->bytes[rec::kFamily] = family;
  StoreLe<double>(r->bytes + rec::kTimeMs, time_ms);
}

}  // namespace portflow
