import { rm, stat } from 'node:fs/promises';
import {
  all,
  logEnded,
  logStarted,
  OptionError,
  scanConfigLine,
  toJSON,
  toJSONLine,
  warningIssued,
  type EventBus,
  type JsonValue,
  type ScanEvent,
  type Subscription,
} from '@portflow/core';
import { Compressor, type CompressJob } from './compressor.js';
import { LoggerClosedError, LogLockedError, LogOpenError } from './errors.js';
import { registerExit, unregisterExit, type ExitParticipant } from './exit-hooks.js';
import { FileSink, type SinkOwner } from './file-sink.js';
import { acquireLock, releaseLock } from './lock-file.js';
import { fsyncDir, listSet, recoverSet, shiftNumbered } from './log-set.js';
import { resolveOptions, type EventLoggerOptions, type ResolvedOptions } from './options.js';
import { LogPath, nextBoundary } from './path-pattern.js';
import { dirname } from 'node:path';

export interface LoggerStats {
  /** The file being written now. */
  readonly path: string;
  /** Events handed to a file's buffer. */
  readonly eventsLogged: number;
  /** Lines (events and meta lines) whose write(2) completed. */
  readonly linesWritten: number;
  /** Events not written: disk errors, the memory bound, or an event the serializer rejected. */
  readonly eventsDropped: number;
  readonly droppedByDiskError: number;
  readonly droppedByMemoryBound: number;
  readonly droppedUnserializable: number;
  readonly writeErrors: number;
  /** The last disk error, e.g. "ENOSPC: no space left on device". */
  readonly lastError: string | undefined;
  readonly rotations: number;
  readonly filesCompressed: number;
  /** Characters waiting for the disk. */
  readonly bufferedBytes: number;
}

type WarnKind = 'disk' | 'memory' | 'removed' | 'rotate' | 'compress' | 'serialize';

const WARN_CODE: Record<WarnKind, string> = {
  disk: 'LOG_WRITE_FAILED',
  memory: 'LOG_MEMORY_BOUND',
  removed: 'LOG_FILE_REMOVED',
  rotate: 'LOG_ROTATE_FAILED',
  compress: 'LOG_COMPRESS_FAILED',
  serialize: 'LOG_SERIALIZE_FAILED',
};

function errText(e: NodeJS.ErrnoException): string {
  return e.code !== undefined && !e.message.startsWith(e.code) ? `${e.code}: ${e.message}` : e.message;
}

/**
 * Writes a bus's events to a JSON Lines file in core's wire format. The
 * handler only serializes and appends to a string; write(2) happens off the
 * event loop, one chunk in flight at a time. Durability contract: README.md.
 */
export class EventLogger implements SinkOwner, ExitParticipant {
  readonly bufferSize: number;
  readonly #bus: EventBus;
  readonly #opts: ResolvedOptions;
  readonly #logPath: LogPath;
  readonly #maxBytes: number;
  readonly #maxPending: number;
  #active: FileSink;
  #retiring = new Set<FileSink>();
  #jobs = new Map<FileSink, CompressJob>();
  #locks = new Map<string, string>();
  #sub: Subscription;
  #timer: NodeJS.Timeout;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #compressor: Compressor | null = null;
  #scans = new Map<string, string>();
  #lastScanId = '';
  #nextRotateAt = Infinity;
  #pending = 0;
  #closed = false;
  #closing: Promise<LoggerStats> | null = null;
  /** Set synchronously when close() starts (#closing is assigned only after #close() returns its promise). */
  #shuttingDown = false;
  #closeWaiters: (() => void)[] = [];
  /** Kinds with a warning published and not yet recovered: one WarningIssued per episode, not per event. */
  #warned = new Set<WarnKind>();
  #logged = 0;
  #linesWritten = 0;
  #dropDisk = 0;
  #dropMemory = 0;
  #dropSerialize = 0;
  #writeErrors = 0;
  #lastError: string | undefined;
  #rotations = 0;
  #compressed = 0;
  readonly #onEvent: (e: ScanEvent) => void;

  constructor(path: string, bus: EventBus, options?: EventLoggerOptions) {
    if (bus === null || typeof bus !== 'object' || typeof bus.subscribe !== 'function') {
      throw new OptionError('EventLogger needs an EventBus as its second argument');
    }
    this.#opts = resolveOptions(options);
    this.#logPath = new LogPath(path);
    this.#bus = bus;
    this.bufferSize = this.#opts.bufferSize;
    this.#maxBytes = this.#opts.maxBytes;
    this.#maxPending = this.#opts.maxBufferedBytes;
    const now = Date.now();
    const first = this.#logPath.at(now);
    try {
      this.#locks.set(first, acquireLock(first));
    } catch (e) {
      if (e instanceof LogLockedError) throw e;
      throw new LogOpenError(first, e as NodeJS.ErrnoException);
    }
    try {
      this.#active = FileSink.open(first, this);
    } catch (e) {
      releaseLock(this.#locks.get(first) as string);
      throw new LogOpenError(first, e as NodeJS.ErrnoException);
    }
    if (this.#opts.compress) {
      this.#compressor = new Compressor(this.#opts.compressLevel, this.#opts.fsync !== 'never', {
        compressed: () => {
          this.#compressed++;
        },
        failed: (p, err) => this.#warn('compress', `event log ${p}: gzip failed (${errText(err)}); the file is kept uncompressed`),
      });
      // Finish what a crash interrupted: half-written .gz.tmp files, originals left next to their .gz.
      try {
        for (const p of recoverSet(this.#logPath, first)) {
          const m = /\.(\d+)$/.exec(p);
          this.#compressor.add(m === null ? p : p.slice(0, -m[0].length), m === null ? 0 : Number(m[1]), true);
        }
      } catch (e) {
        this.#warn('compress', `event log ${first}: cannot look for rotated files left uncompressed by a crash (${errText(e as NodeJS.ErrnoException)})`);
      }
    }
    this.#writeHead(this.#active, now);
    if (this.#opts.interval !== undefined) this.#nextRotateAt = nextBoundary(now, this.#opts.interval);
    this.#onEvent = (e) => this.#handle(e);
    this.#sub = bus.subscribe(this.#opts.filter ?? all(), this.#onEvent);
    this.#timer = setInterval(() => this.#tick(), this.#opts.flushIntervalMs);
    this.#timer.unref();
    if (this.#opts.fsync === 'interval') {
      this.#fsyncTimer = setInterval(() => this.#active.fsync((e) => this.#diskError(this.#active, e, 0)), this.#opts.fsyncIntervalMs);
      this.#fsyncTimer.unref();
    }
    if (this.#opts.handleExit) registerExit(this);
  }

  /** The file being written now. */
  get path(): string {
    return this.#active.path;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- hot path -------------------------------------------------------------

  #handle(e: ScanEvent): void {
    let line: string;
    try {
      line = toJSON(e);
    } catch (err) {
      this.#dropSerialize++;
      this.#active.dropped++;
      this.#warn('serialize', `event log ${this.#active.path}: event seq ${e.seq} (${String(e.type)}) cannot be written: ${(err as Error).message}`);
      return;
    }
    if (this.#pending > this.#maxPending) {
      this.#dropMemory++;
      this.#active.dropped++;
      if (!this.#warned.has('memory')) {
        this.#warn('memory', `event log ${this.#active.path}: the disk is slower than the events; ${this.#maxPending} bytes are waiting, so new events are dropped and counted until it catches up`);
      }
      return;
    }
    let sink = this.#active;
    if (this.#maxBytes !== 0) {
      const n = Buffer.byteLength(line) + 1;
      if (sink.size + n > this.#maxBytes && sink.events !== 0) {
        this.#rotate();
        sink = this.#active;
      }
      sink.size += n;
    }
    sink.append(`${line}\n`, 1, 1);
    sink.events++;
    this.#logged++;
    this.#pending += line.length + 1;
    this.#lastScanId = e.scanId;
    if (sink.buf.length >= this.bufferSize) sink.kick();
  }

  #appendMeta(sink: FileSink, line: string): void {
    sink.append(`${line}\n`, 1, 0);
    sink.size += Buffer.byteLength(line) + 1;
    this.#pending += line.length + 1;
  }

  #writeHead(sink: FileSink, now: number): void {
    this.#appendMeta(sink, toJSONLine(logStarted(this.#bus.busId, now)));
    // Every file stands alone: scans still running get their config repeated.
    for (const line of this.#scans.values()) this.#appendMeta(sink, line);
  }

  #footer(sink: FileSink): string {
    return toJSONLine(logEnded(Date.now(), sink.events, sink.dropped));
  }

  // ---- public API ------------------------------------------------------------

  /** Write a `scan_config` line for `scanId` (repeated at the top of every later file until endScan). */
  startScan(scanId: string, config: { readonly [key: string]: JsonValue } = {}): void {
    if (this.#closed || this.#shuttingDown) throw new LoggerClosedError('startScan()');
    if (typeof scanId !== 'string' || scanId === '') throw new OptionError('startScan() needs a non-empty scan id');
    let line: string;
    try {
      line = toJSONLine(scanConfigLine(scanId, Date.now(), config));
    } catch (e) {
      throw new OptionError(`startScan(${scanId}): the config cannot be written as JSON: ${(e as Error).message}`);
    }
    this.#scans.set(scanId, line);
    this.#lastScanId = scanId;
    this.#appendMeta(this.#active, line);
  }

  /** Stop repeating the scan's config in new files and flush. */
  endScan(scanId: string): Promise<void> {
    this.#scans.delete(scanId);
    return this.flush();
  }

  /** Resolves when every line logged so far has been handed to the kernel (or counted as dropped). */
  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const waits: Promise<void>[] = [];
    for (const s of this.#retiring) waits.push(s.whenFlushed());
    waits.push(this.#active.whenFlushed());
    return Promise.all(waits).then(() => undefined);
  }

  /** Write everything buffered now, blocking. For exit paths; flush() is the normal way. */
  flushSync(): void {
    if (this.#closed) return;
    for (const s of [...this.#retiring]) s.flushSync();
    this.#flushActiveSync();
  }

  /** A flush may find the file removed and move to a new one: flush until the active file stays. */
  #flushActiveSync(): void {
    let a: FileSink;
    do {
      a = this.#active;
      a.flushSync();
    } while (a !== this.#active);
  }

  /** Start a new file now (as size or time rotation would). */
  rotate(): void {
    if (this.#closed || this.#shuttingDown) throw new LoggerClosedError('rotate()');
    this.#rotate();
  }

  stats(): LoggerStats {
    return {
      path: this.#active.path,
      eventsLogged: this.#logged,
      linesWritten: this.#linesWritten,
      eventsDropped: this.#dropDisk + this.#dropMemory + this.#dropSerialize,
      droppedByDiskError: this.#dropDisk,
      droppedByMemoryBound: this.#dropMemory,
      droppedUnserializable: this.#dropSerialize,
      writeErrors: this.#writeErrors,
      lastError: this.#lastError,
      rotations: this.#rotations,
      filesCompressed: this.#compressed,
      bufferedBytes: this.#pending,
    };
  }

  /** Unsubscribe, write what is buffered and the footer, wait for compressions, release the lock. */
  close(): Promise<LoggerStats> {
    if (this.#closing !== null) return this.#closing;
    if (this.#closed) return Promise.resolve(this.stats());
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<LoggerStats> {
    this.#shuttingDown = true;
    // Let the disk catch up first, so the summary below is not itself dropped by the memory bound.
    await this.flush();
    const dropped = this.#dropDisk + this.#dropMemory + this.#dropSerialize;
    if (dropped !== 0) {
      // Logged if the disk allows: the total is what the earlier per-episode warnings could not know.
      this.#publishWarning('LOG_EVENTS_DROPPED', `event log ${this.#active.path}: ${dropped} events could not be written (disk errors ${this.#dropDisk}, memory bound ${this.#dropMemory}, unserializable ${this.#dropSerialize})`);
    }
    this.#sub.unsubscribe();
    clearInterval(this.#timer);
    if (this.#fsyncTimer !== undefined) clearInterval(this.#fsyncTimer);
    const last = this.#active;
    this.#appendMeta(last, this.#footer(last));
    this.#retiring.add(last);
    const allClosed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    for (const s of [...this.#retiring]) s.retire(this.#opts.fsync !== 'never');
    await allClosed;
    if (this.#compressor !== null) await this.#compressor.close();
    for (const lock of this.#locks.values()) releaseLock(lock);
    this.#locks.clear();
    this.#closed = true;
    if (this.#opts.handleExit) unregisterExit(this);
    return this.stats();
  }

  /** @internal exit-hooks: flush synchronously; `final` also writes the footer and closes. */
  exitSync(final: boolean): void {
    if (this.#closed) return;
    for (const s of [...this.#retiring]) {
      s.flushSync();
      if (final) s.closeSync(this.#opts.fsync !== 'never');
    }
    if (!final) {
      this.#flushActiveSync();
      return;
    }
    this.#shuttingDown = true;
    this.#sub.unsubscribe();
    clearInterval(this.#timer);
    if (this.#fsyncTimer !== undefined) clearInterval(this.#fsyncTimer);
    this.#flushActiveSync();
    const a = this.#active;
    this.#appendMeta(a, this.#footer(a));
    a.flushSync();
    a.closeSync(this.#opts.fsync !== 'never');
    for (const lock of this.#locks.values()) releaseLock(lock);
    this.#locks.clear();
    this.#closed = true;
    if (this.#opts.handleExit) unregisterExit(this);
  }

  // ---- retention -------------------------------------------------------------

  /** Delete rotated files of this log last modified more than `maxAgeMs` ago. Returns the deleted paths. */
  cleanupOldLogs(maxAgeMs: number): Promise<string[]> {
    if (typeof maxAgeMs !== 'number' || !(maxAgeMs >= 0)) throw new OptionError(`cleanupOldLogs() needs an age in ms ≥ 0, got ${String(maxAgeMs)}`);
    const cutoff = Date.now() - maxAgeMs;
    return this.#cleanup((m) => m.mtimeMs < cutoff);
  }

  /** Delete rotated files last modified before `date`. */
  cleanupBefore(date: Date | number | string): Promise<string[]> {
    const ms = date instanceof Date ? date.getTime() : typeof date === 'string' ? Date.parse(date) : date;
    if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new OptionError(`cleanupBefore() needs a Date, epoch ms or ISO 8601 string, got ${String(date)}`);
    return this.#cleanup((m) => m.mtimeMs < ms);
  }

  /** Keep the `n` newest rotated files, delete the rest. */
  cleanupByCount(n: number): Promise<string[]> {
    if (!Number.isSafeInteger(n) || n < 0) throw new OptionError(`cleanupByCount() needs an integer ≥ 0, got ${String(n)}`);
    return this.#cleanup((_m, rank) => rank >= n);
  }

  async #cleanup(doomed: (m: { mtimeMs: number }, rank: number) => boolean): Promise<string[]> {
    const busy = this.#compressor?.busyPaths() ?? new Set<string>();
    const live = new Set<string>([this.#active.path, ...[...this.#retiring].map((s) => s.path)]);
    const deleted: string[] = [];
    let rank = 0;
    // A rotated file and its .gz (a crash between rename and unlink) are one file.
    const seen = new Set<string>();
    for (const m of listSet(this.#logPath)) {
      const logical = m.gz ? m.path.slice(0, -3) : m.path;
      if (live.has(logical) || busy.has(logical) || seen.has(logical)) continue;
      seen.add(logical);
      if (doomed(m, rank++)) {
        for (const p of [m.path, m.gz ? logical : `${logical}.gz`]) {
          try {
            await stat(p);
            await rm(p, { force: true });
            deleted.push(p);
          } catch {
            // Not there: nothing to delete.
          }
        }
      }
    }
    return deleted;
  }

  // ---- rotation --------------------------------------------------------------

  #tick(): void {
    if (this.#closed || this.#shuttingDown) return;
    const now = Date.now();
    if (now >= this.#nextRotateAt || (this.#logPath.dated && this.#logPath.at(now) !== this.#active.path)) {
      if (this.#opts.interval !== undefined) this.#nextRotateAt = nextBoundary(now, this.#opts.interval);
      if (this.#active.events !== 0) this.#rotate();
    }
    for (const s of this.#retiring) s.kick();
    this.#active.kick();
  }

  #rotate(): void {
    const old = this.#active;
    const now = Date.now();
    const next = this.#logPath.at(now);
    const numbered = next === old.path;
    let sink: FileSink;
    let lock: string | undefined;
    try {
      if (numbered) {
        shiftNumbered(old.path, this.#opts.maxFiles);
        this.#compressor?.shifted(old.path, this.#opts.maxFiles);
      } else {
        lock = acquireLock(next);
      }
      sink = FileSink.open(next, this);
      if (this.#opts.fsync !== 'never') fsyncDir(dirname(next));
    } catch (e) {
      if (lock !== undefined) releaseLock(lock);
      // Without a new file, the old one takes the lines: nothing is lost, the file grows.
      this.#warn('rotate', `event log ${old.path}: rotation failed (${errText(e as NodeJS.ErrnoException)}); still writing to the current file`);
      if (this.#maxBytes !== 0) old.size = 0;
      return;
    }
    this.#warned.delete('rotate');
    if (lock !== undefined) this.#locks.set(next, lock);
    this.#rotations++;
    this.#appendMeta(old, this.#footer(old));
    this.#retiring.add(old);
    if (this.#compressor !== null) this.#jobs.set(old, this.#compressor.add(old.path, numbered ? 1 : 0, false));
    // The numbered rename moved the file under the open fd; the sink keeps writing to the same inode.
    old.retire(this.#opts.fsync !== 'never');
    this.#active = sink;
    this.#writeHead(sink, now);
    if (!numbered) void this.cleanupByCount(this.#opts.maxFiles).catch((e: NodeJS.ErrnoException) => this.#warn('rotate', `event log ${next}: retention failed (${errText(e)})`));
  }

  // ---- SinkOwner -------------------------------------------------------------

  sinkWritten(sink: FileSink, lines: number, chars: number): void {
    this.#linesWritten += lines;
    this.#pending -= chars;
    if (this.#warned.has('disk') && sink === this.#active) this.#warned.delete('disk');
    if (this.#pending < this.#maxPending / 2) this.#warned.delete('memory');
  }

  sinkFailed(sink: FileSink, error: NodeJS.ErrnoException, events: number, chars: number): void {
    this.#pending -= chars;
    this.#diskError(sink, error, events);
  }

  #diskError(sink: FileSink, error: NodeJS.ErrnoException, events: number): void {
    this.#writeErrors++;
    this.#dropDisk += events;
    sink.dropped += events;
    this.#lastError = errText(error);
    this.#warn('disk', `event log ${sink.path}: ${this.#lastError}; the scan goes on, lines that cannot be written are counted as dropped (logger.stats(), log_ended)`);
  }

  sinkRemoved(sink: FileSink): void {
    const { text, lines, events, chars } = sink.takeBuffer();
    if (sink !== this.#active || this.#shuttingDown || this.#closed) {
      this.#pending -= chars;
      this.#dropDisk += events;
      this.#retiring.add(sink);
      sink.retire(false);
      return;
    }
    let fresh: FileSink;
    try {
      fresh = FileSink.open(sink.path, this);
    } catch (e) {
      this.#pending -= chars;
      this.#dropDisk += events;
      sink.dropped += events;
      this.#writeErrors++;
      this.#lastError = errText(e as NodeJS.ErrnoException);
      this.#warn('removed', `event log ${sink.path} was removed and cannot be recreated (${this.#lastError}); the scan goes on, events are counted as dropped until it can be`);
      sink.removed = false; // look again at the next flush: the directory may come back
      return;
    }
    this.#warned.delete('removed');
    this.#warn('removed', `event log ${sink.path} was removed while open; lines written since the previous flush went with it; logging goes on in a new ${sink.path}`);
    this.#warned.delete('removed');
    // The old inode has no name: close it, carry the buffered lines over after the new header.
    this.#active = fresh;
    this.#retiring.add(sink);
    sink.retire(false);
    this.#writeHead(fresh, Date.now());
    fresh.append(text, lines, events);
    fresh.events += events;
    fresh.kick();
  }

  sinkClosed(sink: FileSink): void {
    this.#retiring.delete(sink);
    const job = this.#jobs.get(sink);
    if (job !== undefined) {
      this.#jobs.delete(sink);
      this.#compressor?.markReady(job);
    }
    if (sink.path !== this.#active.path || this.#shuttingDown) {
      const lock = this.#locks.get(sink.path);
      if (lock !== undefined && sink.path !== this.#active.path) {
        releaseLock(lock);
        this.#locks.delete(sink.path);
      }
    }
    if (this.#shuttingDown && this.#retiring.size === 0) {
      for (const w of this.#closeWaiters) w();
      this.#closeWaiters = [];
    }
  }

  // ---- warnings --------------------------------------------------------------

  #warn(kind: WarnKind, message: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#publishWarning(WARN_CODE[kind], message);
  }

  #publishWarning(code: string, message: string): void {
    this.#bus.publish(warningIssued(this.#lastScanId, Date.now(), message, undefined, undefined, code));
  }
}
