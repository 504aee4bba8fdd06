// libFuzzer target for the parser. The first input byte picks the link type and
// whether checksums are flagged partial; the rest is the frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parser/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  portflow::ParseOptions opt;
  static constexpr portflow::LinkType kLinks[] = {portflow::LinkType::kEthernet, portflow::LinkType::kLinuxSll,
                                                  portflow::LinkType::kLinuxSll2, portflow::LinkType::kRaw};
  opt.link = kLinks[data[0] & 3];
  opt.checksum_not_ready = (data[0] & 4) != 0;
  opt.verify_checksums = (data[0] & 8) == 0;
  // An exact-size heap copy, so ASan sees any read past the frame.
  std::vector<uint8_t> frame(data + 1, data + size);
  portflow::ParsedPacket p;
  portflow::ParsePacket(frame.data(), frame.size(), opt, &p);
  if (p.error == portflow::ParseError::kNone && p.payload_offset + static_cast<size_t>(p.payload_len) > frame.size()) abort();
  if (p.option_count > portflow::kMaxTcpOptions) abort();
  return 0;
}
