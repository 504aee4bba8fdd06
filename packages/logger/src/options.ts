import { compileFilter, OptionError, type EventFilter } from '@portflow/core';
import type { RotationInterval } from './path-pattern.js';

/** When file data is forced to stable storage. A write(2) that completed survives SIGKILL either way; fsync is for power loss. */
export type FsyncPolicy = 'never' | 'rotation' | { readonly intervalMs: number };

export interface RotationOptions {
  /** Start a new file before a line would take the current one past this many bytes. */
  readonly maxBytes?: number;
  /** Start a new file at each local-time hour, day or (Monday) week boundary. */
  readonly interval?: RotationInterval;
  /** Rotated files kept (`.1` … `.maxFiles`, or the newest dated files). Default 10. */
  readonly maxFiles?: number;
}

export interface EventLoggerOptions {
  /** Log only matching events. Default: all. */
  readonly filter?: EventFilter;
  /** Buffered characters that trigger a write. Default 8,192. */
  readonly bufferSize?: number;
  /** Buffered events are written at least this often. Default 1,000 ms. */
  readonly flushIntervalMs?: number;
  /**
   * Most characters (≈ bytes) held in memory waiting for the disk; past it,
   * new events are dropped and counted. Default 64 MiB (≈ 0.3 s at 1M events/s, minutes at a typical scan's rate).
   */
  readonly maxBufferedBytes?: number;
  /** Default 'never'. */
  readonly fsync?: FsyncPolicy;
  readonly rotation?: RotationOptions;
  /** gzip rotated files in a worker thread (level 1–9, default 6). Default false. */
  readonly compress?: boolean | { readonly level?: number };
  /**
   * Flush and write the footer on process exit, uncaught exceptions, and
   * SIGINT/SIGTERM/SIGHUP (re-raised when no one else listens). Default true.
   */
  readonly handleExit?: boolean;
}

export interface ResolvedOptions {
  readonly filter: EventFilter | undefined;
  readonly bufferSize: number;
  readonly flushIntervalMs: number;
  readonly maxBufferedBytes: number;
  readonly fsync: 'never' | 'rotation' | 'interval';
  readonly fsyncIntervalMs: number;
  readonly maxBytes: number;
  readonly interval: RotationInterval | undefined;
  readonly maxFiles: number;
  readonly compress: boolean;
  readonly compressLevel: number;
  readonly handleExit: boolean;
}

export const DEFAULT_BUFFER_SIZE = 8192;
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 10;

function posInt(v: unknown, name: string, min: number, dflt: number, hint: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new OptionError(`${name} must be an integer ≥ ${min} (${hint}), got ${String(v)}`);
  }
  return v;
}

export function resolveOptions(o: EventLoggerOptions | undefined): ResolvedOptions {
  if (o === undefined) o = {};
  if (o === null || typeof o !== 'object') throw new OptionError('EventLogger options must be an object');
  if (o.filter !== undefined) compileFilter(o.filter); // throws FilterError naming what is wrong
  let fsync: ResolvedOptions['fsync'] = 'never';
  let fsyncIntervalMs = 0;
  if (o.fsync === 'rotation' || o.fsync === 'never' || o.fsync === undefined) fsync = o.fsync ?? 'never';
  else if (typeof o.fsync === 'object' && o.fsync !== null) {
    fsync = 'interval';
    fsyncIntervalMs = posInt(o.fsync.intervalMs, 'fsync.intervalMs', 1, 0, 'e.g. { intervalMs: 1000 }');
  } else {
    throw new OptionError(`fsync must be 'never', 'rotation' or { intervalMs: N }, got ${JSON.stringify(o.fsync)}`);
  }
  const r = o.rotation ?? {};
  if (r === null || typeof r !== 'object') throw new OptionError('rotation must be an object like { maxBytes: 100_000_000, maxFiles: 10 }');
  if (r.interval !== undefined && r.interval !== 'hourly' && r.interval !== 'daily' && r.interval !== 'weekly') {
    throw new OptionError(`rotation.interval must be 'hourly', 'daily' or 'weekly', got ${JSON.stringify(r.interval)}`);
  }
  let compress = false;
  let compressLevel = 6;
  if (o.compress === true) compress = true;
  else if (typeof o.compress === 'object' && o.compress !== null) {
    compress = true;
    compressLevel = posInt(o.compress.level, 'compress.level', 1, 6, '1 fastest … 9 smallest');
    if (compressLevel > 9) throw new OptionError(`compress.level must be 1–9, got ${compressLevel}`);
  } else if (o.compress !== undefined && o.compress !== false) {
    throw new OptionError(`compress must be true, false or { level: 1–9 }, got ${JSON.stringify(o.compress)}`);
  }
  if (o.handleExit !== undefined && typeof o.handleExit !== 'boolean') throw new OptionError('handleExit must be true or false');
  const maxBytes = posInt(r.maxBytes, 'rotation.maxBytes', 1024, 0, 'bytes per file, at least 1024');
  return {
    filter: o.filter,
    bufferSize: posInt(o.bufferSize, 'bufferSize', 1, DEFAULT_BUFFER_SIZE, 'characters'),
    flushIntervalMs: posInt(o.flushIntervalMs, 'flushIntervalMs', 1, DEFAULT_FLUSH_INTERVAL_MS, 'milliseconds'),
    maxBufferedBytes: posInt(o.maxBufferedBytes, 'maxBufferedBytes', 1024, DEFAULT_MAX_BUFFERED_BYTES, 'bytes held for a slow disk'),
    fsync,
    fsyncIntervalMs,
    maxBytes,
    interval: r.interval,
    maxFiles: posInt(r.maxFiles, 'rotation.maxFiles', 1, DEFAULT_MAX_FILES, 'rotated files kept'),
    compress,
    compressLevel,
    handleExit: o.handleExit ?? true,
  };
}
