#include "io/softnet.h"

#include <fcntl.h>
#include <unistd.h>

namespace portflow::io {
namespace {

// About 110 bytes per CPU line on current kernels: room for more than 1000 CPUs.
constexpr size_t kBufSize = 1 << 17;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool ParseSoftnetDrops(const char* text, size_t len, uint64_t* total) {
  uint64_t sum = 0;
  bool any = false;
  size_t i = 0;
  while (i < len) {
    // One line: columns separated by spaces; the second is the drop count.
    int column = 0;
    uint64_t value = 0;
    bool in_word = false;
    for (; i < len && text[i] != '\n'; ++i) {
      const int d = HexDigit(text[i]);
      if (d >= 0) {
        if (!in_word) {
          in_word = true;
          ++column;
          value = 0;
        }
        value = value << 4 | static_cast<uint64_t>(d);
      } else {
        if (in_word && column == 2) {
          sum += value;
          any = true;
        }
        in_word = false;
      }
    }
    if (in_word && column == 2) {
      sum += value;
      any = true;
    }
    ++i;  // the newline
  }
  if (any) *total = sum;
  return any;
}

SoftnetDrops::SoftnetDrops() : buf_(new char[kBufSize]) {}

bool SoftnetDrops::Read(uint64_t* total) {
  const int fd = ::open("/proc/net/softnet_stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t len = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf_.get() + len, kBufSize - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
    if (len == kBufSize) break;
  }
  ::close(fd);
  return ParseSoftnetDrops(buf_.get(), len, total);
}

bool SoftnetDrops::Start() {
  growth_ = 0;
  ok_ = Read(&base_);
  return ok_;
}

uint64_t SoftnetDrops::Poll() {
  uint64_t now;
  if (ok_ && Read(&now) && now >= base_) growth_ = now - base_;
  return growth_;
}

}  // namespace portflow::io
