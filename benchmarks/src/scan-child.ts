/**
 * A long-lived scanning process for the scan suites. It runs where the scans
 * must run (inside a network namespace, started with `ip netns exec`: Node
 * cannot setns() a thread), takes one request per line on stdin and answers
 * one JSON line per request on stdout:
 *
 *   { "options": <scan options>, "subscribers": "none" | "full" | "progress" | "logger" | "renderer" }
 *   → { "wallNs", "cpuNs", "outcome", "error"?, "openPorts", "portsScanned", "events" (published), "open": [[addr, port], ...] }
 *
 * cpuNs is the whole process's user + system CPU time across the scan
 * (getrusage(RUSAGE_SELF) through process.resourceUsage(): every thread,
 * native and libuv's included). "full" subscribers are what a user's terminal
 * session has: ProgressAggregator, EventLogger to a temporary file, a progress
 * renderer redrawing as on a terminal, and one line per reported port, both
 * written to /dev/null. An unavailable scan type answers
 * { "unavailable": <message> } (ScanTypeUnavailableError), not a failure.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EventBus, eventType } from '@portflow/core';
import { EventLogger } from '@portflow/logger';
import { ProgressAggregator, ProgressReporter } from '@portflow/progress';
import { scan, ScanTypeUnavailableError, type ScanOptions } from '@portflow/scanner';

/** 'full' = progress + logger + renderer; the single parts are there to find which one costs what. */
type Subscribers = 'none' | 'full' | 'progress' | 'logger' | 'renderer';

interface Request {
  options: ScanOptions;
  subscribers: Subscribers;
}

const cpuNs = (): number => {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) * 1000;
};

const dir = mkdtempSync(join(tmpdir(), 'pf-bench-scan-'));
const devNull = openSync('/dev/null', 'w');
let run = 0;

/** What a terminal session subscribes; returns what to finish after the scan (included in the CPU time). */
function subscribe(bus: EventBus, which: Exclude<Subscribers, 'none'>): () => Promise<void> {
  const full = which === 'full';
  // The renderer draws the aggregator's metrics: it needs one.
  const progress = full || which === 'progress' || which === 'renderer' ? ProgressAggregator.global(bus) : undefined;
  const log = full || which === 'logger' ? new EventLogger(join(dir, `scan-${run}.jsonl`), bus, { handleExit: false }) : undefined;
  if (!progress || !(full || which === 'renderer')) {
    return async () => {
      await log?.close();
      progress?.close();
    };
  }
  const p = progress;
  // A terminal's renderer: redraws in place every 250 ms (isTTY), as the CLI does on a terminal.
  const reporter = new ProgressReporter({
    stream: { isTTY: true, columns: 100, write: (s: string) => writeSync(devNull, s) },
    metrics: () => p.getCurrentMetrics(),
    renderer: 'detailed',
    env: { TERM: 'xterm-256color', LANG: 'en_US.UTF-8' },
  }).start();
  // ...and one line per reported port, written every 50 ms as a buffered terminal writer would.
  let lines = '';
  const flush = (): void => {
    if (lines) writeSync(devNull, lines);
    lines = '';
  };
  const timer = setInterval(flush, 50);
  bus.subscribe(eventType('PortFound', 'IPv6PortFound'), (e) => {
    if (e.type === 'PortFound' || e.type === 'IPv6PortFound') lines += `${e.target}:${e.port}/${e.protocol} ${e.state} ${e.reason ?? ''}\n`;
  });
  return async () => {
    clearInterval(timer);
    flush();
    reporter.stop();
    await log?.close();
    p.close();
  };
}

async function handle(req: Request): Promise<object> {
  run++;
  const bus = new EventBus();
  const finish = req.subscribers === 'none' ? undefined : subscribe(bus, req.subscribers);
  // The scan's own figures (e.g. results.latency.p99: reply captured → PortFound delivered).
  const metrics: Record<string, number> = {};
  bus.subscribe(eventType('MetricRecorded'), (e) => {
    if (e.type === 'MetricRecorded') metrics[e.metric] = e.value;
  });
  const c0 = cpuNs();
  const t0 = process.hrtime.bigint();
  let h;
  try {
    h = scan(req.options, { bus });
  } catch (e) {
    if (e instanceof ScanTypeUnavailableError) return { unavailable: e.message };
    throw e;
  }
  const r = await h.results;
  await finish?.();
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = cpuNs() - c0;
  const open = r.hosts.flatMap((host) => host.ports.filter((p) => p.state === 'open').map((p) => [host.address, p.port] as [string, number]));
  rmSync(join(dir, `scan-${run}.jsonl`), { force: true });
  return { wallNs, cpuNs: cpu, outcome: r.outcome, error: r.error, openPorts: r.openPorts, portsScanned: r.portsScanned, events: bus.lastSeq, open, metrics };
}

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let out: object;
    try {
      out = await handle(JSON.parse(line) as Request);
    } catch (e) {
      out = { failed: (e as Error).stack ?? String(e) };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });
});
rl.on('close', () => {
  void queue.then(() => {
    closeSync(devNull);
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
