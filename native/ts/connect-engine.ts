// Typed wrapper of the native connect-scan engine (src/connect/): one native thread that
// walks its own copy of the scan job, runs non-blocking TCP connects with epoll and writes
// one record per probe outcome to a RecordRing (see connect_engine.h for the mapping of
// outcomes to records). No privileges needed.
import { isIP } from 'node:net';
import { getBinding } from './binding.js';
import { bytesToIp } from './address.js';
import { NativeError } from './errors.js';
import type { JobLayout } from './job.js';
import { RecordRing, nativeRingHandle, type RecordBatch } from './ring.js';

/** Indices of `ConnectEngine.status` (src/connect/connect_engine.h, StatusIndex). */
export const ConnectStatus = {
  sent: 0,
  received: 1,
  retries: 2,
  bytesSent: 3,
  inFlight: 4,
  retriesPending: 5,
  highWater: 6,
  limit: 7,
  srttMs: 8,
  rttvarMs: 9,
  timeoutMs: 10,
  timeouts: 11,
  selfConnects: 12,
  shortages: 13,
  fatalErrno: 14,
  done: 15,
  concurrency: 16,
  overflow: 17,
  /** Probes dropped unsent or closed in flight because their host was given up (skipHosts). */
  skipped: 18,
} as const;
const STATUS_WORDS = 19;

export type ConnectEngineErrorCode = 'ERR_CONNECT_OPTION' | 'ERR_CONNECT_RING' | 'ERR_CONNECT_STATE' | 'ERR_CONNECT_START' | 'ERR_JOB_LAYOUT';

/** A connect-engine option or call the native side refused; `code` says which rule. */
export class ConnectEngineError extends NativeError {
  declare readonly code: ConnectEngineErrorCode;
}

export interface ConnectEngineOptions {
  /** The scan job's layout; `position` = first position to probe (a resume's lowWater). TCP ports only. */
  job: JobLayout;
  /** Hand out positions below this only (extend with setEnd); default: the whole shard. */
  end?: number;
  /** Connects in flight at most (lowered to what RLIMIT_NOFILE allows, after raising the soft limit to the hard one). */
  concurrency: number;
  /** Resends of an unanswered probe. */
  maxRetries: number;
  /** Connect timeout: srtt + 4·rttvar of observed answer times, clamped to [min, max]; initial before the first answer. */
  initialTimeoutMs: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** Ascending positions not to probe (reported by a run this one resumes). */
  skip?: Float64Array;
  /** Ring capacity in records (power of two); default: 4 × concurrency, at least 4,096. */
  ringCapacity?: number;
  /** Start paused (no connect until resume()). */
  paused?: boolean;
  producerId?: number;
  /** Called with each batch of records (doorbell-driven). */
  onRecords: (batch: RecordBatch) => void;
  /**
   * Called after each doorbell-driven drain, also when it found nothing (the engine may be
   * done). Once `done` is true here, every record has been handed to onRecords.
   */
  onDrained?: () => void;
  /** Called if onRecords throws. */
  onError?: (err: unknown) => void;
}

/** The first probe that met a local shortage of one kind (EMFILE, EADDRNOTAVAIL, ...). */
export interface ConnectShortage {
  errno: number;
  code: string;
  address: string;
  port: number;
  /** Connects allowed in flight right after it. */
  limit: number;
}

interface NativeConnect {
  start(): void;
  pause(): void;
  resume(): void;
  setEnd(end: number): void;
  readStatus(out: Float64Array): void;
  skipHosts(addresses: string[]): void;
  takeShortages(): { errno: number; code: string; family: number; address: Uint8Array; port: number; limit: number }[];
  stop(): void;
}

function rethrow(err: unknown): never {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('ERR_CONNECT_') || code === 'ERR_JOB_LAYOUT')) {
    throw new ConnectEngineError(code, (err as Error).message);
  }
  throw err;
}

function checkNumber(name: string, v: unknown, min: number, max: number, integer = true): number {
  if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
    throw new ConnectEngineError('ERR_CONNECT_OPTION', `connect engine: ${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

/**
 * The native connect-scan engine and its ring. `status` is refreshed by `readStatus()`
 * (one native call, no allocation); read fields with `ConnectStatus` indices.
 */
export class ConnectEngine {
  readonly ring: RecordRing;
  readonly status = new Float64Array(STATUS_WORDS);
  readonly #native: NativeConnect;
  #stopped = false;
  #started = false;

  constructor(options: ConnectEngineOptions) {
    const o = options ?? ({} as ConnectEngineOptions);
    const concurrency = checkNumber('concurrency', o.concurrency, 1, 1 << 20);
    checkNumber('maxRetries', o.maxRetries, 0, 100);
    checkNumber('minTimeoutMs', o.minTimeoutMs, 1, 3.6e6, false);
    checkNumber('maxTimeoutMs', o.maxTimeoutMs, o.minTimeoutMs, 3.6e6, false);
    checkNumber('initialTimeoutMs', o.initialTimeoutMs, 1, 3.6e6, false);
    if (typeof o.onRecords !== 'function') throw new ConnectEngineError('ERR_CONNECT_OPTION', 'connect engine: onRecords must be a function');
    let capacity = o.ringCapacity ?? 4096;
    if (o.ringCapacity === undefined) while (capacity < concurrency * 4) capacity *= 2;
    const binding = getBinding() as unknown as { ConnectEngine: (new (ring: object, o: object) => NativeConnect) & { statusWords: number } };
    if (binding.ConnectEngine.statusWords !== STATUS_WORDS) {
      throw new ConnectEngineError('ERR_CONNECT_STATE', `connect engine: the addon's status has ${binding.ConnectEngine.statusWords} words, this wrapper reads ${STATUS_WORDS}: rebuild the addon (node scripts/build-addon.mjs)`);
    }
    this.ring = new RecordRing({ capacity, onRecords: o.onRecords, onError: o.onError });
    try {
      this.#native = new binding.ConnectEngine(nativeRingHandle(this.ring), {
        job: o.job,
        end: o.end,
        concurrency,
        maxRetries: o.maxRetries,
        initialTimeoutMs: o.initialTimeoutMs,
        minTimeoutMs: o.minTimeoutMs,
        maxTimeoutMs: o.maxTimeoutMs,
        skip: o.skip,
        paused: o.paused === true,
        producerId: o.producerId ?? 0,
      });
    } catch (err) {
      this.ring.close();
      rethrow(err);
    }
    // The engine counts unread records against its concurrency and sleeps when that gate is
    // shut: wake it after every drain (setEnd never lowers the end; a kick costs one atomic
    // exchange unless it sleeps). Without this a caller that never calls setEnd() waited for
    // the engine's sweep, up to 25 ms per gate: ~140 probes/s at concurrency 2.
    this.ring.onDrained(() => {
      if (!this.#stopped) this.#native.setEnd(0);
    });
    if (o.onDrained) this.ring.onDrained(o.onDrained);
  }

  /** Starts the engine thread; the ring keeps the process alive until stop() or the end. */
  start(): void {
    if (this.#started || this.#stopped) throw new ConnectEngineError('ERR_CONNECT_STATE', `connect engine: ${this.#stopped ? 'stopped' : 'already started'}`);
    try {
      this.#native.start();
    } catch (err) {
      rethrow(err);
    }
    this.#started = true;
    this.ring.ref();
  }

  /** No new connect until resume(); connects in flight still finish. */
  pause(): void {
    this.#native.pause();
  }

  resume(): void {
    this.#native.resume();
  }

  /**
   * Allows positions below `end` (never lowers it) and wakes the engine. The engine counts
   * unread records against its concurrency; the wrapper wakes it after each doorbell drain,
   * so a caller that drains `ring` itself (outside onRecords) calls this afterwards.
   */
  setEnd(end: number): void {
    this.#native.setEnd(end);
  }

  /** Refreshes `status` and returns it. */
  readStatus(): Float64Array {
    this.#native.readStatus(this.status);
    return this.status;
  }

  /**
   * True once every position is final (or the engine gave up: `status[fatalErrno]`) and every
   * record it published has been read from `ring`, so a caller that finishes when onDrained
   * sees `done` has had every record (the engine publishes its last records, sets its done
   * flag, then rings: records still unread mean another drain is coming). After stop(): once
   * the thread has ended (what is left in `ring` stays readable until close()).
   */
  get done(): boolean {
    if (this.readStatus()[ConnectStatus.done] !== 1) return false;
    return this.#stopped || this.ring.readable === 0;
  }

  /** Local shortages first met since the previous call (one per errno per engine). */
  takeShortages(): ConnectShortage[] {
    return this.#native.takeShortages().map((s) => ({ errno: s.errno, code: s.code, address: bytesToIp(s.address, 0, s.family as 4 | 6), port: s.port, limit: s.limit }));
  }

  /**
   * Gives hosts up (the scanner's host timeout): from the engine's next loop turn on, none
   * of their probes is started, neither a first try nor a resend, and their connects in
   * flight are closed (the kernel retransmits no SYN), all without a record (counted in
   * `status[skipped]`). Records already written for them stay in the ring: the caller
   * drops them by address.
   */
  skipHosts(addresses: readonly string[]): void {
    if (!Array.isArray(addresses)) throw new ConnectEngineError('ERR_CONNECT_OPTION', 'connect engine: skipHosts expects an array of IP addresses');
    for (let i = 0; i < addresses.length; i++) {
      if (typeof addresses[i] !== 'string' || isIP(addresses[i]) === 0) {
        throw new ConnectEngineError('ERR_CONNECT_OPTION', `connect engine: skipHosts: addresses[${i}] ${JSON.stringify(addresses[i])} is not an IPv4 or IPv6 address`);
      }
    }
    if (addresses.length === 0 || this.#stopped) return;
    try {
      this.#native.skipHosts([...addresses]);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Stops and joins the thread (every socket closed); records already in the ring stay readable until close(). Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#native.stop();
    this.#native.readStatus(this.status);
    if (this.#started) this.ring.unref();
  }

  /** stop(), then closes the ring (its memory is detached). */
  close(): void {
    this.stop();
    this.ring.close();
  }
}
