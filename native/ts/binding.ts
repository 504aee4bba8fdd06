// Loads the compiled addon, turning the three ways that fails into one-line typed
// errors that say what to run. The .node lives in build/Release next to dist/ and ts/.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NativeLoadError } from './errors.js';

/** Bumped with every change to the binding's exported surface; checked at load. */
export const ABI_VERSION = 2;

export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../build/Release/portflow_native.node', import.meta.url));

const REBUILD = 'run `pnpm install` in the workspace or `node scripts/build-addon.mjs rebuild` in native/';

/** Maps a dlopen failure to a typed error. Exported for tests. */
export function classifyLoadError(path: string, err: unknown): NativeLoadError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(msg)) {
    const m = /NODE_MODULE_VERSION (\d+)[^]*?NODE_MODULE_VERSION (\d+)/.exec(msg);
    const detail = m ? ` (built for NODE_MODULE_VERSION ${m[1]}, this Node ${process.version} needs ${m[2]})` : ` (this Node ${process.version} needs NODE_MODULE_VERSION ${process.versions.modules})`;
    return new NativeLoadError('ERR_NATIVE_ABI', path, `portflow native addon at ${path} was built for another Node ABI${detail}: ${REBUILD}`, { cause: err });
  }
  if (!existsSync(path) || (err as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND') {
    return new NativeLoadError('ERR_NATIVE_MISSING', path, `portflow native addon not built: ${path} is missing; ${REBUILD}`, { cause: err });
  }
  return new NativeLoadError('ERR_NATIVE_INVALID', path, `portflow native addon at ${path} cannot be loaded (${msg.split('\n')[0]}); ${REBUILD}`, { cause: err });
}

/** Loads an addon file; throws NativeLoadError. Most callers want `binding`. */
export function loadBinding(path: string = DEFAULT_ADDON_PATH): NativeBinding {
  const require = createRequire(import.meta.url);
  let mod: NativeBinding;
  try {
    mod = require(path) as NativeBinding;
  } catch (err) {
    throw classifyLoadError(path, err);
  }
  if (mod.abiVersion !== ABI_VERSION) {
    throw new NativeLoadError('ERR_NATIVE_ABI', path, `portflow native addon at ${path} is stale (binding version ${String(mod.abiVersion)}, this package needs ${ABI_VERSION}); ${REBUILD}`);
  }
  return mod;
}

/** The raw addon surface. Prefer the typed wrappers in packet.ts and ring.ts. */
export interface NativeBinding {
  abiVersion: number;
  buildTcp(o: object): Buffer;
  buildUdp(o: object): Buffer;
  buildIcmpEcho(o: object): Buffer;
  buildIcmpTimestamp(o: object): Buffer;
  buildArpRequest(o: object): Buffer;
  buildNdpSolicit(o: object): Buffer;
  parse(buf: Uint8Array, linkType: number, checksumNotReady: boolean): Record<string, unknown>;
  sendClock(): number;
  bench: {
    craftSyn(count: number): number;
    parse(count: number): number;
    [name: string]: (...args: never[]) => unknown;
  };
  [name: string]: unknown;
}

let cached: NativeBinding | undefined;

/** The loaded addon (loaded on first use, so importing types never needs the binary). */
export function getBinding(): NativeBinding {
  cached ??= loadBinding();
  return cached;
}
