#include "io/bpf.h"

#include <stdexcept>
#include <string>

#include "common/bytes.h"

namespace portflow::io {
namespace {

// A tiny assembler: jumps name labels, resolved to classic BPF's 8-bit forward offsets at the end.
class Assembler {
 public:
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Bind(int label) { labels_[static_cast<size_t>(label)] = static_cast<int>(code_.size()); }
  void Stmt(uint16_t code, uint32_t k) { code_.push_back({code, kNext, kNext, k}); }
  // Conditional jump: to `jt` when true, `jf` when false (kNext: the following instruction).
  void Jump(uint16_t code, uint32_t k, int jt, int jf) { code_.push_back({code, jt, jf, k}); }

  std::vector<sock_filter> Finish() const {
    std::vector<sock_filter> out;
    out.reserve(code_.size());
    for (size_t i = 0; i < code_.size(); ++i) {
      const Insn& in = code_[i];
      out.push_back({in.code, Offset(i, in.jt), Offset(i, in.jf), in.k});
    }
    return out;
  }

  static constexpr int kNext = -1;

 private:
  struct Insn {
    uint16_t code;
    int jt, jf;
    uint32_t k;
  };
  uint8_t Offset(size_t at, int label) const {
    if (label == kNext) return 0;
    const int target = labels_[static_cast<size_t>(label)];
    const long off = static_cast<long>(target) - static_cast<long>(at) - 1;
    // Programs here are < 100 instructions; a failure is a bug in this file, not bad input.
    if (target < 0 || off < 0 || off > 255) throw std::logic_error("capture filter: unresolved or too long jump");
    return static_cast<uint8_t>(off);
  }
  std::vector<Insn> code_;
  std::vector<int> labels_;
};

constexpr uint16_t kLdW = BPF_LD | BPF_W | BPF_ABS;
constexpr uint16_t kLdH = BPF_LD | BPF_H | BPF_ABS;
constexpr uint16_t kLdB = BPF_LD | BPF_B | BPF_ABS;
constexpr uint16_t kLdHInd = BPF_LD | BPF_H | BPF_IND;
constexpr uint16_t kLdBInd = BPF_LD | BPF_B | BPF_IND;
constexpr uint16_t kLdxMsh = BPF_LDX | BPF_B | BPF_MSH;  // X = 4 * (pkt[k] & 0xf): the IPv4 header length
constexpr uint16_t kAnd = BPF_ALU | BPF_AND | BPF_K;
constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
constexpr uint16_t kJgt = BPF_JMP | BPF_JGT | BPF_K;
constexpr uint16_t kJge = BPF_JMP | BPF_JGE | BPF_K;
constexpr uint16_t kJset = BPF_JMP | BPF_JSET | BPF_K;
constexpr uint16_t kRet = BPF_RET | BPF_K;

}  // namespace

std::vector<sock_filter> CompileCaptureFilter(const FilterSpec& spec) {
  if (spec.mode > kModeDiscovery) throw std::invalid_argument("capture filter: mode " + std::to_string(spec.mode) + " is not 0 (tcp-syn), 1 (udp) or 2 (discovery)");
  const bool v4 = spec.src_v4.family == 4;
  const bool v6 = spec.src_v6.family == 6;
  if (spec.src_v4.family != 0 && !v4) throw std::invalid_argument("capture filter: src_v4 must be an IPv4 address (family 4) or absent (family 0)");
  if (spec.src_v6.family != 0 && !v6) throw std::invalid_argument("capture filter: src_v6 must be an IPv6 address (family 6) or absent (family 0)");
  if (!v4 && !v6) throw std::invalid_argument("capture filter: no source address: set src_v4 and/or src_v6 to the scan's own addresses");
  const bool discovery = spec.mode == kModeDiscovery;
  if (!discovery && spec.port_count == 0) throw std::invalid_argument("capture filter: port_count is 0: TCP and UDP scans need a source port range");
  if (uint32_t{spec.port_first} + spec.port_count > 65536) throw std::invalid_argument("capture filter: port_first + port_count exceeds 65536");
  const bool ports = spec.port_count > 0;
  const uint32_t first = spec.port_first;
  const uint32_t last = first + spec.port_count - 1;
  const uint8_t l4 = spec.mode == kModeUdp ? kProtoUdp : kProtoTcp;
  const uint32_t L = spec.ethernet ? kEthernetHeaderLen : 0;

  Assembler a;
  const int accept = a.NewLabel(), reject = a.NewLabel();
  const int ip4 = a.NewLabel(), ip6 = a.NewLabel(), arp = a.NewLabel();
  const int n = Assembler::kNext;

  // Link: dispatch on the ethertype, or on the IP version nibble of a raw IP packet.
  if (spec.ethernet) {
    a.Stmt(kLdH, 12);
    if (v4) a.Jump(kJeq, kEtherTypeIpv4, ip4, n);
    if (v6) a.Jump(kJeq, kEtherTypeIpv6, ip6, n);
    if (v4 && discovery) a.Jump(kJeq, kEtherTypeArp, arp, n);
  } else {
    a.Stmt(kLdB, 0);
    a.Stmt(kAnd, 0xf0);
    if (v4) a.Jump(kJeq, 0x40, ip4, n);
    if (v6) a.Jump(kJeq, 0x60, ip6, n);
  }
  a.Stmt(kRet, 0);

  if (v4) {
    const int ports4 = a.NewLabel(), icmp4 = a.NewLabel();
    a.Bind(ip4);
    a.Stmt(kLdW, L + 16);  // destination address
    a.Jump(kJeq, LoadBe32(spec.src_v4.bytes), n, reject);
    a.Stmt(kLdH, L + 6);   // a later fragment has no L4 header to check
    a.Jump(kJset, 0x1fff, reject, n);
    a.Stmt(kLdB, L + 9);
    if (ports) a.Jump(kJeq, l4, ports4, n);
    a.Jump(kJeq, kProtoIcmp, icmp4, reject);
    if (ports) {
      a.Bind(ports4);
      a.Stmt(kLdxMsh, L);
      a.Stmt(kLdHInd, L + 2);  // destination port
      a.Jump(kJge, first, n, reject);
      a.Jump(kJgt, last, reject, accept);
    }
    a.Bind(icmp4);
    a.Stmt(kLdxMsh, L);
    a.Stmt(kLdBInd, L);  // ICMP type
    a.Jump(kJeq, 3, accept, n);   // destination unreachable
    a.Jump(kJeq, 11, accept, n);  // time exceeded
    if (discovery) {
      a.Jump(kJeq, 12, accept, n);  // parameter problem
      a.Jump(kJeq, 0, accept, n);   // echo reply
      a.Jump(kJeq, 14, accept, reject);  // timestamp reply
    } else {
      a.Jump(kJeq, 12, accept, reject);
    }
  }

  if (v6) {
    const int ports6 = a.NewLabel(), icmp6 = a.NewLabel();
    a.Bind(ip6);
    for (uint32_t w = 0; w < 4; ++w) {
      a.Stmt(kLdW, L + 24 + 4 * w);  // destination address, a word at a time
      a.Jump(kJeq, LoadBe32(spec.src_v6.bytes + 4 * w), n, reject);
    }
    a.Stmt(kLdB, L + 6);  // next header
    if (ports) a.Jump(kJeq, l4, ports6, n);
    a.Jump(kJeq, kProtoIcmp6, icmp6, reject);
    if (ports) {
      a.Bind(ports6);
      a.Stmt(kLdH, L + kIpv6HeaderLen + 2);
      a.Jump(kJge, first, n, reject);
      a.Jump(kJgt, last, reject, accept);
    }
    a.Bind(icmp6);
    a.Stmt(kLdB, L + kIpv6HeaderLen);  // ICMPv6 type: 1..4 are the errors
    a.Jump(kJeq, 1, accept, n);
    a.Jump(kJeq, 2, accept, n);
    a.Jump(kJeq, 3, accept, n);
    if (discovery) {
      a.Jump(kJeq, 4, accept, n);
      a.Jump(kJeq, 129, accept, n);  // echo reply
      a.Jump(kJeq, 136, accept, reject);  // neighbour advertisement
    } else {
      a.Jump(kJeq, 4, accept, reject);
    }
  }

  if (v4 && discovery && spec.ethernet) {
    a.Bind(arp);
    a.Stmt(kLdH, kEthernetHeaderLen + 6);  // operation: 2 = reply
    a.Jump(kJeq, 2, n, reject);
    a.Stmt(kLdW, kEthernetHeaderLen + 24);  // target protocol address
    a.Jump(kJeq, LoadBe32(spec.src_v4.bytes), accept, reject);
  }

  a.Bind(reject);
  a.Stmt(kRet, 0);
  a.Bind(accept);
  a.Stmt(kRet, kFilterSnapLen);
  // Labels of families not compiled in are never jumped to; bind them so Finish() can check.
  if (!v4) a.Bind(ip4);
  if (!v6) a.Bind(ip6);
  if (!(v4 && discovery && spec.ethernet)) a.Bind(arp);
  return a.Finish();
}

}  // namespace portflow::io
