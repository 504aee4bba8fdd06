// Raw privilege: the typed error and its message, and the real check in a child whose
// CAP_NET_RAW is dropped (setpriv from util-linux, or capsh from libcap2-bin; a non-root
// user has no CAP_NET_RAW to begin with).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NativeError, PrivilegeError, RAW_PRIVILEGE_MESSAGE, checkRawPrivilege, toPrivilegeError } from '../ts/index.js';

const CHILD = fileURLToPath(new URL('./lab/link-child.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;
const has = (tool: string) => !spawnSync(tool, ['--version'], { stdio: 'ignore' }).error;

/** argv that runs the child without CAP_NET_RAW, or undefined if this machine cannot. */
function withoutNetRaw(args: string[]): string[] | undefined {
  if (!isRoot) return [process.execPath, ...args];
  if (has('setpriv')) return ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw', '--', process.execPath, ...args];
  if (has('capsh')) return ['capsh', '--drop=cap_net_raw', '--', '-c', [process.execPath, ...args].map((a) => `'${a}'`).join(' ')];
  return undefined;
}

describe('raw privilege', () => {
  it('names every fix in the message', () => {
    expect(RAW_PRIVILEGE_MESSAGE).toContain('root or CAP_NET_RAW');
    expect(RAW_PRIVILEGE_MESSAGE).toContain('sudo setcap cap_net_raw+ep $(readlink -f $(which node))');
    expect(RAW_PRIVILEGE_MESSAGE).toContain('connect scan (-sT)');
    const e = new PrivilegeError();
    expect(e).toBeInstanceOf(NativeError);
    expect(e).toMatchObject({ name: 'PrivilegeError', code: 'EPERM', message: RAW_PRIVILEGE_MESSAGE });
  });

  it('maps native errors to typed ones', () => {
    const eperm = Object.assign(new Error('x'), { code: 'EPERM' });
    expect(toPrivilegeError(eperm)).toBeInstanceOf(PrivilegeError);
    const af = toPrivilegeError(Object.assign(new Error('no AF_PACKET'), { code: 'EAFNOSUPPORT' }));
    expect(af).toBeInstanceOf(NativeError);
    expect(af).toMatchObject({ code: 'EAFNOSUPPORT', message: 'no AF_PACKET' });
    const other = new TypeError('unrelated');
    expect(toPrivilegeError(other)).toBe(other);
  });

  it.runIf(isRoot)('passes for root', () => {
    expect(() => checkRawPrivilege()).not.toThrow();
  });

  const argv = withoutNetRaw([CHILD, 'privilege']);
  it.runIf(argv !== undefined)('throws PrivilegeError (EPERM) with the message in a process without CAP_NET_RAW', () => {
    const [cmd, ...args] = argv!;
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ error: { name: 'PrivilegeError', code: 'EPERM', message: RAW_PRIVILEGE_MESSAGE } });
  });

  // A plan on loopback dressed as Ethernet: without CAP_NET_RAW the socket is refused
  // before anything is sent (and with it, nothing would leave lo).
  const fakePlan = { interface: 'lo', ifindex: 1, layer: 'ethernet', srcMac: '02:00:00:00:00:01', srcV4: '127.0.0.1', srcV6: null, routes: [], neighbors: [], mtu: 65536 };
  const resolveArgv = withoutNetRaw([CHILD, 'resolve', JSON.stringify({ plan: fakePlan, addresses: ['127.0.0.2'], options: { timeoutMs: 50, retries: 0 } })]);
  it.runIf(resolveArgv !== undefined)('resolveNeighbors rejects with PrivilegeError in a process without CAP_NET_RAW', () => {
    const [cmd, ...args] = resolveArgv!;
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(r.stdout)).toEqual({ error: { name: 'PrivilegeError', code: 'EPERM', message: RAW_PRIVILEGE_MESSAGE } });
  });
});
