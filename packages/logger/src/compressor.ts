import { closeSync, constants, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fsyncDir, memberPath, unlinkQuiet } from './log-set.js';

/**
 * Runs in a worker thread: zlib's synchronous gzip on 4 MiB chunks, each one
 * gzip member (a multi-member file is a valid .gz for gunzip and zlib).
 * Synchronous zlib inside the worker keeps the work off the event loop and
 * off libuv's threadpool, which log writes and dns.lookup share.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const zlib = require('node:zlib');
const CHUNK = 4 * 1024 * 1024;
const buf = Buffer.allocUnsafe(CHUNK);
parentPort.on('message', (job) => {
  let inBytes = 0, outBytes = 0;
  try {
    for (;;) {
      let n = 0;
      while (n < CHUNK) {
        const r = fs.readSync(job.src, buf, n, CHUNK - n, inBytes + n);
        if (r === 0) break;
        n += r;
      }
      if (n === 0) break;
      inBytes += n;
      const gz = zlib.gzipSync(buf.subarray(0, n), { level: job.level });
      let w = 0;
      while (w < gz.length) w += fs.writeSync(job.dst, gz, w, gz.length - w, outBytes + w);
      outBytes += gz.length;
      if (n < CHUNK) break;
    }
    if (job.fsync) fs.fsyncSync(job.dst);
    parentPort.postMessage({ id: job.id, ok: true, inBytes, outBytes });
  } catch (e) {
    parentPort.postMessage({ id: job.id, ok: false, code: e.code || 'EIO', message: String(e.message) });
  }
});
`;

export interface CompressJob {
  readonly id: number;
  /** Live name the file was rotated from; with `idx` gives its current path. */
  readonly base: string;
  idx: number;
  /** The file is complete (its writer closed it). */
  ready: boolean;
  /** Rotated out of retention while waiting or running: delete instead of keeping. */
  discard: boolean;
}

interface Reply {
  id: number;
  ok: boolean;
  inBytes?: number;
  outBytes?: number;
  code?: string;
  message?: string;
}

export interface CompressorEvents {
  compressed(path: string, inBytes: number, outBytes: number): void;
  failed(path: string, error: NodeJS.ErrnoException): void;
}

/** One worker, one job at a time, in rotation order. */
export class Compressor {
  readonly #level: number;
  readonly #fsync: boolean;
  readonly #events: CompressorEvents;
  #worker: Worker | null = null;
  #jobs: CompressJob[] = [];
  #running: { job: CompressJob; src: number; dst: number } | null = null;
  #nextId = 1;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(level: number, fsync: boolean, events: CompressorEvents) {
    this.#level = level;
    this.#fsync = fsync;
    this.#events = events;
  }

  /** Track a rotated file now (renames must follow it); it is compressed once `markReady`. */
  add(base: string, idx: number, ready: boolean): CompressJob {
    const job: CompressJob = { id: this.#nextId++, base, idx, ready, discard: false };
    this.#jobs.push(job);
    if (ready) this.#next();
    return job;
  }

  markReady(job: CompressJob): void {
    job.ready = true;
    this.#next();
  }

  /** `base` was shifted (`.N` → `.N+1`): follow it. */
  shifted(base: string, maxFiles: number): void {
    for (const j of this.#jobs) {
      if (j.base !== base) continue;
      j.idx++;
      if (j.idx > maxFiles) j.discard = true;
    }
  }

  /** Paths being or waiting to be compressed: retention leaves them alone. */
  busyPaths(): Set<string> {
    return new Set(this.#jobs.map((j) => memberPath(j.base, j.idx, false)));
  }

  get pending(): number {
    return this.#jobs.length;
  }

  idle(): Promise<void> {
    if (this.#jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.idle();
    this.#closed = true;
    const w = this.#worker;
    this.#worker = null;
    if (w !== null) await w.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== null) return this.#worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (r: Reply) => this.#done(r));
    w.on('error', (e) => this.#crashed(e));
    w.unref();
    this.#worker = w;
    return w;
  }

  #next(): void {
    if (this.#running !== null || this.#closed) return;
    const job = this.#jobs.find((j) => j.ready);
    if (job === undefined) {
      if (this.#jobs.length === 0) this.#settle();
      return;
    }
    if (job.discard) {
      this.#remove(job);
      unlinkQuiet(memberPath(job.base, job.idx, false));
      this.#next();
      return;
    }
    const src = memberPath(job.base, job.idx, false);
    let srcFd = -1, dstFd = -1;
    try {
      srcFd = openSync(src, constants.O_RDONLY);
      // The fds, not the names, go to the worker: a rotation may rename both meanwhile.
      dstFd = openSync(`${src}.gz.tmp`, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    } catch (e) {
      if (srcFd !== -1) closeSync(srcFd);
      this.#remove(job);
      this.#events.failed(src, e as NodeJS.ErrnoException);
      this.#next();
      return;
    }
    this.#running = { job, src: srcFd, dst: dstFd };
    const w = this.#ensureWorker();
    w.ref(); // an unfinished compression keeps close() waiting, so keep the loop alive for it
    w.postMessage({ id: job.id, src: srcFd, dst: dstFd, level: this.#level, fsync: this.#fsync });
  }

  #done(r: Reply): void {
    const run = this.#running;
    if (run === null || run.job.id !== r.id) return;
    this.#running = null;
    this.#worker?.unref();
    closeSync(run.src);
    closeSync(run.dst);
    const { job } = run;
    this.#remove(job);
    const src = memberPath(job.base, job.idx, false);
    const tmp = `${src}.gz.tmp`;
    if (job.discard) {
      unlinkQuiet(tmp);
      unlinkQuiet(src);
    } else if (!r.ok) {
      unlinkQuiet(tmp);
      this.#events.failed(src, Object.assign(new Error(r.message ?? 'compression failed'), { code: r.code ?? 'EIO' }));
    } else {
      try {
        // Order matters for crash safety: the .gz appears complete, then the original goes.
        renameSync(tmp, `${src}.gz`);
        if (this.#fsync) fsyncDir(dirname(src));
        unlinkQuiet(src);
        this.#events.compressed(src, r.inBytes ?? 0, r.outBytes ?? 0);
      } catch (e) {
        unlinkQuiet(tmp);
        this.#events.failed(src, e as NodeJS.ErrnoException);
      }
    }
    this.#next();
  }

  #crashed(e: Error): void {
    const run = this.#running;
    this.#worker = null;
    if (run !== null) {
      this.#running = null;
      closeSync(run.src);
      closeSync(run.dst);
      this.#remove(run.job);
      const src = memberPath(run.job.base, run.job.idx, false);
      unlinkQuiet(`${src}.gz.tmp`);
      this.#events.failed(src, Object.assign(e, { code: 'ERR_WORKER' }));
    }
    this.#next();
  }

  #remove(job: CompressJob): void {
    this.#jobs = this.#jobs.filter((j) => j !== job);
  }

  #settle(): void {
    const ws = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of ws) w();
  }
}
