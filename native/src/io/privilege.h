// Raw packet privilege (root or CAP_NET_RAW): checked once, up front, so a SYN scan
// without it fails with the fixes named instead of deep inside the sender.
#pragma once

#include <napi.h>

#include <string>

namespace portflow::io {

// The message every caller shows when the privilege is missing.
extern const char* const kRawPrivilegeMessage;

// 0 when this process may open AF_PACKET raw sockets (tried: socket(), then close),
// else the errno (EPERM / EACCES without CAP_NET_RAW; EAFNOSUPPORT without AF_PACKET).
int ProbeRawPrivilege();

// Throws a JS Error with code 'EPERM' and kRawPrivilegeMessage when the privilege is
// missing (code = the errno's name otherwise). For the probe engine's constructor.
void ThrowIfNoRawPrivilege(Napi::Env env);

// exports.checkRawPrivilege(): undefined or throws as above. ts/privilege.ts wraps it.
void InitPrivilege(Napi::Env env, Napi::Object exports);

}  // namespace portflow::io
