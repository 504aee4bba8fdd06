#include "io/privilege.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace portflow::io {

const char* const kRawPrivilegeMessage =
    "raw packets need root or CAP_NET_RAW: run as root, grant it with "
    "`sudo setcap cap_net_raw+ep $(readlink -f $(which node))`, or use a connect scan (-sT)";

int ProbeRawPrivilege() {
  // Protocol 0: the socket receives nothing, so the probe costs no packet copies.
  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

void ThrowIfNoRawPrivilege(Napi::Env env) {
  const int err = ProbeRawPrivilege();
  if (err == 0) return;
  if (err == EPERM || err == EACCES) {
    Napi::Error e = Napi::Error::New(env, kRawPrivilegeMessage);
    e.Set("code", Napi::String::New(env, "EPERM"));
    throw e;
  }
  const char* name = strerrorname_np(err);
  Napi::Error e = Napi::Error::New(env, std::string("cannot open a raw packet socket (socket(AF_PACKET, SOCK_RAW): ") +
                                            std::strerror(err) + "); raw scans need Linux AF_PACKET sockets, use a connect scan (-sT)");
  e.Set("code", Napi::String::New(env, name ? name : "ERR_RAW_SOCKET"));
  throw e;
}

void InitPrivilege(Napi::Env env, Napi::Object exports) {
  exports.Set("checkRawPrivilege", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
                ThrowIfNoRawPrivilege(info.Env());
                return info.Env().Undefined();
              }));
}

}  // namespace portflow::io
