import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLine } from '@portflow/core';
import { EventBus } from '@portflow/core';
import { EventLogger, LogLockedError, readEvents } from '../src/index.js';
import { port } from './helpers.js';
import { FIXTURES, fileLines, tempDir } from './helpers.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

interface Run {
  child: ChildProcess;
  flushed: number;
  out: string;
  err: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runWriter(path: string, mode: string, env: Record<string, string> = {}, opts: object = {}): Run {
  const child = spawn(process.execPath, [join(FIXTURES, 'writer.mjs'), path, mode, JSON.stringify(opts)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = {
    child,
    flushed: 0,
    out: '',
    err: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (d: Buffer) => {
    run.out += d.toString();
    const m = /flushed (\d+)\n(?![\s\S]*flushed)/.exec(run.out);
    if (m) run.flushed = Number(m[1]);
  });
  child.stderr?.on('data', (d: Buffer) => {
    run.err += d.toString();
  });
  return run;
}

function waitFlushed(run: Run, atLeast: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (run.flushed >= atLeast) {
        run.child.stdout?.off('data', check);
        resolve();
      }
    };
    run.child.stdout?.on('data', check);
    run.child.on('exit', () => reject(new Error(`writer exited before flushing ${atLeast}: ${run.err}`)));
    check();
  });
}

/** Seqs of the event lines, asserting every line but possibly the last parses. */
function eventSeqs(path: string): { seqs: number[]; truncatedLast: boolean; meta: string[] } {
  const lines = fileLines(path);
  const seqs: number[] = [];
  const meta: string[] = [];
  let truncatedLast = false;
  lines.forEach((l, i) => {
    let o: ReturnType<typeof parseLine>;
    try {
      o = parseLine(l);
    } catch (e) {
      if (i === lines.length - 1) {
        truncatedLast = true;
        return;
      }
      throw e;
    }
    if ('seq' in o) seqs.push(o.seq);
    else meta.push(o.event);
  });
  return { seqs, truncatedLast, meta };
}

function contiguous(seqs: number[]): boolean {
  return seqs.every((s, i) => s === i + 1);
}

describe('crash safety (child processes)', () => {
  it('SIGKILL mid-stream: everything flushed is on disk; the reader skips a truncated last line', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'stream');
    await waitFlushed(run, 50_000);
    run.child.kill('SIGKILL');
    const { signal } = await run.exited;
    expect(signal).toBe('SIGKILL');
    const flushed = run.flushed;
    const { seqs, meta } = eventSeqs(path);
    expect(meta).toEqual(['log_started', 'scan_config']); // no footer: it was killed
    expect(contiguous(seqs)).toBe(true);
    expect(seqs.length).toBeGreaterThanOrEqual(flushed);
    const r = readEvents(path);
    let n = 0;
    for await (const e of r) expect(e.seq).toBe(++n);
    expect(n).toBe(seqs.length);
    expect(r.stats.unterminated).toEqual([path]);
    expect(r.stats.malformed).toBeLessThanOrEqual(1);
    expect(existsSync(`${path}.lock`)).toBe(true); // a stale lock, taken over by the next writer
  });

  it('SIGINT with no other listener: buffer and footer written, then the process dies of SIGINT', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'stream');
    await waitFlushed(run, 20_000);
    run.child.kill('SIGINT');
    const { code, signal } = await run.exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGINT' });
    const { seqs, meta, truncatedLast } = eventSeqs(path);
    expect(truncatedLast).toBe(false);
    expect(meta).toEqual(['log_started', 'scan_config', 'log_ended']);
    expect(contiguous(seqs)).toBe(true);
    expect(seqs.length).toBeGreaterThanOrEqual(run.flushed);
    // Every event published before the signal: the footer's count is the number of events in the file.
    const footer = JSON.parse(fileLines(path).at(-1) as string);
    expect(footer.events_written).toBe(seqs.length);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('SIGTERM likewise', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'stream');
    await waitFlushed(run, 10_000);
    run.child.kill('SIGTERM');
    expect((await run.exited).signal).toBe('SIGTERM');
    expect(eventSeqs(path).meta.at(-1)).toBe('log_ended');
  });

  it('SIGINT with an application listener: the logger stands aside, the application closes it', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'own-handler');
    await waitFlushed(run, 10_000);
    run.child.kill('SIGINT');
    const { code, signal } = await run.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const closed = Number(/closed (\d+)/.exec(run.out)?.[1]);
    const { seqs, meta } = eventSeqs(path);
    expect(meta).toEqual(['log_started', 'scan_config', 'log_ended']);
    expect(contiguous(seqs)).toBe(true);
    expect(seqs.length).toBe(closed);
  });

  it('an uncaught exception: footer written, and the process still dies of it (exit code 1)', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'uncaught');
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.err).toContain('boom: an uncaught error in the scan');
    const { seqs, meta } = eventSeqs(path);
    expect(meta.at(-1)).toBe('log_ended');
    expect(seqs.length).toBe(20 * 500);
    expect(contiguous(seqs)).toBe(true);
  });

  it('a normal exit without close(): every event and the footer are on disk', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'exit');
    expect((await run.exited).code).toBe(0);
    const { seqs, meta } = eventSeqs(path);
    expect(meta.at(-1)).toBe('log_ended');
    expect(seqs.length).toBe(10 * 500);
  });

  it('two processes on one file: the second is refused naming the first; after the first dies, its stale lock is taken over', async () => {
    const path = join(t.dir, 'scans.jsonl');
    const run = runWriter(path, 'stream');
    await waitFlushed(run, 5_000);
    const bus = new EventBus({ busId: 'second' });
    let err: unknown;
    try {
      new EventLogger(path, bus);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LogLockedError);
    expect((err as LogLockedError).pid).toBe(run.child.pid);
    run.child.kill('SIGKILL');
    await run.exited;
    const log = new EventLogger(path, bus);
    bus.publish(port(1));
    await log.close();
    const warnings: string[] = [];
    const r = readEvents(path, { onWarning: (w) => warnings.push(w.code) });
    let first = 0, second = 0;
    for await (const e of r) {
      if (e.scanId === 'scan-1') first++;
      else second++;
    }
    expect(first).toBeGreaterThanOrEqual(5_000);
    expect(second).toBe(1);
    // The killed session has no footer; the new one does, so the file as a whole ends terminated.
    expect(warnings).toContain('UNTERMINATED');
    expect(r.stats.unterminated).toEqual([]);
  });
});
