// Raw packet privilege (root or CAP_NET_RAW), checked up front so a SYN/UDP/discovery
// scan without it fails with the fixes named, before any thread or socket exists.
import { getBinding } from './binding.js';
import { NativeError } from './errors.js';

/** What every raw-packet entry point says when the privilege is missing (same text as src/io/privilege.cc). */
export const RAW_PRIVILEGE_MESSAGE =
  'raw packets need root or CAP_NET_RAW: run as root, grant it with ' +
  '`sudo setcap cap_net_raw+ep $(readlink -f $(which node))`, or use a connect scan (-sT)';

/** The process may not open raw packet sockets: not root and no CAP_NET_RAW. */
export class PrivilegeError extends NativeError {
  declare readonly code: 'EPERM';
  constructor(message: string = RAW_PRIVILEGE_MESSAGE, options?: { cause?: unknown }) {
    super('EPERM', message, options);
  }
}

/**
 * Maps an error thrown by a native raw-socket call (the probe engine's constructor,
 * resolveNeighbors, checkRawPrivilege) to a typed one: `code: 'EPERM'` becomes a
 * PrivilegeError, another errno name a NativeError with that code; anything else is
 * returned as it is.
 */
export function toPrivilegeError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EPERM' || code === 'EACCES') return new PrivilegeError(RAW_PRIVILEGE_MESSAGE, { cause: err });
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && err instanceof Error && !(err instanceof NativeError)) {
    return new NativeError(code, err.message, { cause: err });
  }
  return err;
}

/**
 * Throws PrivilegeError (`code: 'EPERM'`) unless this process may send and capture raw
 * packets: it opens an AF_PACKET raw socket (protocol 0, receives nothing) and closes it.
 * Without AF_PACKET at all it throws a NativeError with the errno's name (EAFNOSUPPORT).
 */
export function checkRawPrivilege(): void {
  const check = getBinding().checkRawPrivilege as () => void;
  try {
    check();
  } catch (err) {
    throw toPrivilegeError(err);
  }
}
