// The native connect engine against loopback ports this test listens on, releases, or
// makes unanswerable (a listener in a child process that never accepts, its accept queue
// full: SYNs dropped). No privileges.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectEngine, ConnectEngineError, ConnectStatus as S, RECORD_SIZE, RecordFlag, RecordKind, decodeRecord, type DecodedRecord, type JobLayout } from '../ts/index.js';

/** A natural-order job over 127.0.0.1 and the given TCP ports (ascending): position i = ports[i]. */
function layout(ports: number[], position = 0, kind = 1): JobLayout {
  const seg = new Uint32Array(10);
  seg[0] = 4;
  seg[5] = 0x7f000001;
  seg[9] = 0x7f000001;
  const runs = new Uint32Array(ports.length * 3);
  ports.forEach((p, i) => runs.set([kind, p, p], i * 3));
  return { segments: seg, blockBits: new Uint32Array(0), ports: runs, seed: 1n, natural: true, shardIndex: 0, shardCount: 1, position };
}

interface Run {
  records: DecodedRecord[];
  status: Float64Array;
}

/** Runs an engine to its end, collecting every record decoded. */
function runEngine(options: Partial<ConstructorParameters<typeof ConnectEngine>[0]> & { job: JobLayout }, during?: (e: ConnectEngine) => void): Promise<Run> {
  const records: DecodedRecord[] = [];
  return new Promise((resolve, reject) => {
    const e: ConnectEngine = new ConnectEngine({
      concurrency: 8,
      maxRetries: 1,
      initialTimeoutMs: 300,
      minTimeoutMs: 100,
      maxTimeoutMs: 1000,
      ...options,
      onRecords: (b) => {
        for (let k = 0; k < b.count; k++) records.push(decodeRecord(b.view, (b.start + k) * RECORD_SIZE));
      },
      onDrained: () => {
        if (!e.done) return;
        e.ring.drain((b) => {
          for (let k = 0; k < b.count; k++) records.push(decodeRecord(b.view, (b.start + k) * RECORD_SIZE));
        });
        e.stop();
        const status = Float64Array.from(e.status);
        e.close();
        resolve({ records, status });
      },
      onError: reject,
    });
    e.start();
    during?.(e);
  });
}

const finals = (r: DecodedRecord[]) => r.filter((x) => x.kind === 'TcpReply' || x.kind === 'IcmpError' || x.kind === 'NoAnswer');

let servers: net.Server[] = [];
let open: number[] = [];
let closed: number[] = [];
let dropper: ChildProcess | undefined;
let dropPort = 0;
const fillers: net.Socket[] = [];

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const s = net.createServer((c) => c.destroy());
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  open = servers.map((s) => (s.address() as net.AddressInfo).port);
  const gone: net.Server[] = [];
  for (let i = 0; i < 5; i++) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    gone.push(s);
  }
  closed = gone.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(gone.map((s) => new Promise((r) => s.close(r))));
  const code = `
    const net = require('node:net');
    const s = net.createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      require('node:fs').writeSync(1, s.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  dropper = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  dropPort = await new Promise<number>((resolve) => dropper!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  for (let i = 0; i < 4; i++) {
    const f = net.connect(dropPort, '127.0.0.1');
    f.on('error', () => {});
    fillers.push(f);
  }
  await new Promise((r) => setTimeout(r, 100));
});

afterAll(async () => {
  for (const f of fillers) f.destroy();
  dropper?.kill('SIGKILL');
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

describe('ConnectEngine', () => {
  it('reports every position once: open as SYN|ACK, refused as RST|ACK, each with its job position', async () => {
    const ports = [...open, ...closed].sort((a, b) => a - b);
    const { records, status } = await runEngine({ job: layout(ports) });
    const f = finals(records);
    expect(f).toHaveLength(ports.length);
    expect(f.map((r) => r.position).sort((a, b) => a! - b!)).toEqual(ports.map((_, i) => i));
    for (const r of f) {
      expect(r.flags & RecordFlag.JobPosition).toBe(RecordFlag.JobPosition);
      expect(r.addr).toBe('127.0.0.1');
      expect(r.port).toBe(ports[r.position!]);
      expect(r.proto).toBe(6);
      expect(r.kind).toBe('TcpReply');
      expect(r.tcp!.flags).toBe(open.includes(r.port!) ? 0x12 : 0x14);
      if (open.includes(r.port!)) expect(r.localPort).toBeGreaterThan(0);
    }
    expect(records.at(-1)!.kind).toBe('Counters');
    expect(records.at(-1)!.counters).toMatchObject({ sent: ports.length, received: ports.length, retries: 0, overflow: 0 });
    expect(status[S.sent]).toBe(ports.length);
    expect(status[S.received]).toBe(ports.length);
    expect(status[S.bytesSent]).toBe(60 * ports.length);
    expect(status[S.inFlight]).toBe(0);
    expect(status[S.highWater]).toBe(ports.length);
    expect(status[S.overflow]).toBe(0);
    expect(status[S.fatalErrno]).toBe(0);
    expect(status[S.srttMs]).toBeGreaterThanOrEqual(0);
  });

  it('resends an unanswered probe, then reports NoAnswer with the probes sent', async () => {
    const ports = [closed[0], dropPort].sort((a, b) => a - b);
    const { records, status } = await runEngine({ job: layout(ports), maxRetries: 1 });
    const retries = records.filter((r) => r.kind === 'RetriesSent');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ addr: '127.0.0.1', port: dropPort, count: 1, attempt: 2, position: ports.indexOf(dropPort) });
    const none = finals(records).find((r) => r.port === dropPort)!;
    expect(none).toMatchObject({ kind: 'NoAnswer', count: 2, localErrno: 0, position: ports.indexOf(dropPort) });
    expect(status[S.timeouts]).toBe(2);
    expect(status[S.sent]).toBe(3);
    expect(status[S.retries]).toBe(1);
    expect(status[S.received]).toBe(1);
  });

  it('hands out nothing at or above `end` until setEnd, and skips the positions it is told to', async () => {
    const ports = [...closed, ...open].sort((a, b) => a - b);
    let sentAtEnd = -1;
    const { records } = await runEngine({ job: layout(ports), end: 3, skip: Float64Array.from([1, 5]) }, (e) => {
      setTimeout(() => {
        sentAtEnd = e.readStatus()[S.sent];
        expect(e.status[S.highWater]).toBe(3);
        e.setEnd(ports.length);
      }, 150);
    });
    expect(sentAtEnd).toBe(2); // positions 0 and 2 (1 is skipped)
    expect(finals(records).map((r) => r.position).sort((a, b) => a! - b!)).toEqual([0, 2, 3, 4, 6, 7]);
  });

  it('starts at the layout position (a resume), and sends nothing while paused', async () => {
    const ports = [...closed, ...open].sort((a, b) => a - b);
    let sentWhilePaused = -1;
    const { records } = await runEngine({ job: layout(ports, 4), paused: true }, (e) => {
      setTimeout(() => {
        sentWhilePaused = e.readStatus()[S.sent];
        e.resume();
      }, 150);
    });
    expect(sentWhilePaused).toBe(0);
    expect(finals(records).map((r) => r.position).sort((a, b) => a! - b!)).toEqual([4, 5, 6, 7]);
  });

  it('stops mid-scan: thread joined, idempotent, no record after stop', async () => {
    const ports = Array.from({ length: 2000 }, (_, i) => 20000 + i).filter((p) => !open.includes(p));
    let seen = 0;
    const e = new ConnectEngine({
      job: layout(ports),
      concurrency: 2,
      maxRetries: 0,
      initialTimeoutMs: 300,
      minTimeoutMs: 100,
      maxTimeoutMs: 1000,
      onRecords: (b) => (seen += b.count),
    });
    e.start();
    await new Promise((r) => setTimeout(r, 30));
    e.stop();
    e.stop();
    const sent = e.status[S.sent];
    expect(sent).toBeLessThan(ports.length);
    expect(e.status[S.inFlight]).toBe(0);
    expect(e.done).toBe(true);
    e.ring.drain((b) => (seen += b.count));
    expect(seen).toBeLessThanOrEqual(sent + 1);
    e.close();
    expect(e.ring.closed).toBe(true);
  });

  it('meets EMFILE without failing: the probe waits, fewer in flight, one shortage reported, every position final', () => {
    // A child with a low descriptor limit takes every free descriptor but the two the engine
    // needs for itself, so its first socket() fails; it gives them back after 60 ms.
    const dist = new URL('../dist/index.js', import.meta.url).pathname;
    const code = `const DIST = ${JSON.stringify(dist)};\n${EMFILE_CHILD}`;
    const r = spawnSync('sh', ['-c', 'ulimit -n 256 && exec "$0" --input-type=module -e "$1"', process.execPath, code], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { finals: number; sent: number; concurrency: number; shortages: number; fatal: number; first: string[] };
    expect(out.finals).toBe(3000);
    expect(out.sent).toBe(3000);
    expect(out.shortages).toBeGreaterThanOrEqual(1);
    expect(out.first).toEqual(['EMFILE']);
    expect(out.fatal).toBe(0);
    expect(out.concurrency).toBeLessThan(256);
  });

  it('skipHosts: probes of a host given up on are dropped unsent, first tries and resends, connects in flight closed, with no record', async () => {
    // 127.0.0.1 and 127.0.0.2 × the released ports: position = port index × 2 + host index.
    const ports = [...closed].sort((a, b) => a - b);
    const job = layout(ports);
    job.segments[9] = 0x7f000002;
    const { records, status } = await runEngine({ job, paused: true }, (e) => {
      e.skipHosts(['127.0.0.2']);
      e.resume();
    });
    const f = finals(records);
    expect(f.map((r) => r.addr)).toEqual(ports.map(() => '127.0.0.1'));
    expect(f.map((r) => r.position).sort((a, b) => a! - b!)).toEqual(ports.map((_, i) => i * 2));
    expect(status[S.sent]).toBe(ports.length);
    expect(status[S.skipped]).toBe(ports.length);
    expect(status[S.highWater]).toBe(ports.length * 2);

    // A probe in flight when its host is given up: closed at once (no timeout, no resend,
    // no RetriesSent, no NoAnswer), and the engine finishes.
    const long = { initialTimeoutMs: 2000, minTimeoutMs: 2000, maxTimeoutMs: 2000, maxRetries: 2 };
    const r = await runEngine({ job: layout([dropPort]), ...long }, (e) => {
      const t = setInterval(() => {
        if (e.readStatus()[S.sent] < 1) return;
        clearInterval(t);
        e.skipHosts(['127.0.0.1']);
      }, 5);
    });
    expect(r.records.filter((x) => x.kind === 'RetriesSent')).toHaveLength(0);
    expect(finals(r.records)).toHaveLength(0);
    expect(r.status[S.sent]).toBe(1);
    expect(r.status[S.timeouts]).toBe(0);
    expect(r.status[S.skipped]).toBe(1);
    expect(r.status[S.done]).toBe(1);
  });

  it('refuses bad options with typed errors', () => {
    const base = { job: layout([80]), concurrency: 4, maxRetries: 1, initialTimeoutMs: 300, minTimeoutMs: 100, maxTimeoutMs: 1000, onRecords: () => {} };
    expect(() => new ConnectEngine({ ...base, concurrency: 0 })).toThrow(ConnectEngineError);
    expect(() => new ConnectEngine({ ...base, maxTimeoutMs: 50 })).toThrow(/maxTimeoutMs/);
    expect(() => new ConnectEngine({ ...base, onRecords: undefined as never })).toThrow(/onRecords/);
    expect(() => new ConnectEngine({ ...base, job: layout([53], 0, 2) })).toThrow(/TCP ports only/);
    expect(() => new ConnectEngine({ ...base, job: { ...layout([80]), seed: 1 as never } })).toThrow(expect.objectContaining({ code: 'ERR_JOB_LAYOUT' }));
    expect(() => new ConnectEngine({ ...base, skip: Float64Array.from([3, 1]) })).toThrow(/ascending/);
    const e = new ConnectEngine(base);
    expect(() => e.skipHosts(['127.0.0.1', 'nope'])).toThrow(expect.objectContaining({ code: 'ERR_CONNECT_OPTION', message: expect.stringMatching(/addresses\[1\] "nope"/) }));
    expect(() => e.skipHosts('127.0.0.1' as never)).toThrow(ConnectEngineError);
    e.close();
    expect(() => e.start()).toThrow(ConnectEngineError);
  });

  it('once onDrained sees done, onRecords has had every record (no drain of its own needed)', async () => {
    // Closed ports answer at once; the dropped one ends 300 ms later with a NoAnswer record,
    // published while this side holds the first wake.
    const ports = [...Array.from({ length: 2000 }, (_, i) => 20000 + i).filter((p) => !open.includes(p) && p !== dropPort), dropPort].sort((a, b) => a - b);
    const positions = new Set<number>();
    const seen = await new Promise<number>((resolve) => {
      const e: ConnectEngine = new ConnectEngine({
        job: layout(ports),
        concurrency: 4096, // never gated by unread records
        maxRetries: 0,
        initialTimeoutMs: 300,
        minTimeoutMs: 100,
        maxTimeoutMs: 1000,
        onRecords: (b) => {
          for (let k = 0; k < b.count; k++) {
            const r = decodeRecord(b.view, (b.start + k) * RECORD_SIZE);
            if (r.position !== undefined && r.kind !== 'Counters') positions.add(r.position);
          }
        },
        onDrained: () => {
          // Hold this wake until the engine has finished (bounded), so its last records are
          // published after this wake's drain: `done` must not be true before they are read.
          const until = Date.now() + 10_000;
          while (e.readStatus()[S.done] !== 1 && Date.now() < until);
          if (!e.done) return;
          e.close();
          resolve(positions.size);
        },
      });
      e.start();
    });
    expect(seen).toBe(ports.length);
  });

  it('decodes its record kinds with the position in place of mss/echoedSend', async () => {
    const { records } = await runEngine({ job: layout([open[0]]) });
    const r = finals(records)[0];
    expect(r).toMatchObject({ kind: 'TcpReply', position: 0, echoedSend: 0 });
    expect(r.tcp!.mss).toBeUndefined();
    expect(RecordKind.TcpReply).toBe(1);
  });
});

const EMFILE_CHILD = `// Child of connect-engine.test.ts (run with a low \`ulimit -n\`): the engine meets EMFILE.
import fs from 'node:fs';
const { ConnectEngine, ConnectStatus: S } = await import(DIST);
const first = 20000, count = 3000;
const seg = new Uint32Array(10); seg[0] = 4; seg[5] = 0x7f000001; seg[9] = 0x7f000001;
const job = { segments: seg, blockBits: new Uint32Array(0), ports: new Uint32Array([1, first, first + count - 1]), seed: 1n, natural: true, shardIndex: 0, shardCount: 1, position: 0 };
const positions = new Set();
let shortages = [];
// Take every free descriptor but two (the engine's eventfd and epoll), so its first socket() fails.
const held = [];
try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
fs.closeSync(held.pop()); fs.closeSync(held.pop());
const e = new ConnectEngine({
  job, concurrency: 512, maxRetries: 1, initialTimeoutMs: 500, minTimeoutMs: 100, maxTimeoutMs: 1000,
  onRecords: (b) => { for (let k = 0; k < b.count; k++) { const o = (b.start + k) * 64; if (b.bytes[o + 3] & 0x80 && b.bytes[o + 1] !== 6) positions.add(b.view.getFloat64(o + 56, true)); } },
  onDrained: () => {
    shortages.push(...e.takeShortages());
    if (!e.done) return;
    e.stop();
    const st = e.status;
    process.stdout.write(JSON.stringify({ finals: positions.size, sent: st[S.sent], concurrency: st[S.concurrency], shortages: st[S.shortages], fatal: st[S.fatalErrno], first: shortages.map((s) => s.code) }));
    e.close();
  },
});
e.start();
setTimeout(() => { for (const fd of held) fs.closeSync(fd); }, 60);
`;
