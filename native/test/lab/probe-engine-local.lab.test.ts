// Root-only checks of the ProbeEngine that need no lab: the native side's validation (its
// constructor opens sockets), EPERM without CAP_NET_RAW (a child with net_raw dropped from
// its bounding set by setpriv), and a run to `done` on this namespace's loopback.
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { ProbeEngine, ProbeEngineError, TestProducer } from '../../ts/index.js';
import { job, optionError, options } from '../helpers/probe-engine-fixture.js';

const skip = inject('labSkipReason');
const distIndex = new URL('../../dist/index.js', import.meta.url).pathname;

describe.skipIf(!!skip)('ProbeEngine as root', () => {
  it('checks the job against the mode natively, naming the option', () => {
    const udp = optionError({ job: { ...job, ports: new Uint32Array([2, 53, 53]) } });
    expect([udp.code, udp.option]).toEqual(['ERR_PROBE_ENGINE_OPTION', 'job']);
    const disc = optionError({ mode: 'discovery', discovery: [{ method: 'icmp-echo' }] });  // job ports 1..10, one method
    expect([disc.code, disc.option]).toEqual(['ERR_PROBE_ENGINE_OPTION', 'discovery']);
    expect(/port 10 has no method/.test(disc.message)).toBe(true);
  });

  it('without CAP_NET_RAW the constructor throws EPERM naming the fixes', () => {
    const { job: _job, ...rest } = options();
    void _job;
    const script = `import(${JSON.stringify(distIndex)}).then(({ ProbeEngine }) => {
      const job = { segments: new Uint32Array([4, 0, 0, 0, 0, 0x7f000001, 0, 0, 0, 0x7f000001]), blockBits: new Uint32Array(0),
        ports: new Uint32Array([1, 1, 1]), seed: 1n, natural: false, shardIndex: 0, shardCount: 1, position: 0 };
      try { new ProbeEngine({ ...${JSON.stringify(rest)}, job }); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
    })`;
    const r = spawnSync('setpriv', ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout.trim()) as { name: string; code: string; message: string };
    expect(out.code).toBe('EPERM');
    expect(out.name).toBe('PrivilegeError');  // a NativeError
    expect(out.message).toMatch(/CAP_NET_RAW/);
    expect(out.message).toMatch(/root/);
    expect(out.message).toMatch(/setcap cap_net_raw\+ep/);
    expect(out.message).toMatch(/connect scan/);
  });

  it('start() after the outcomes ring was closed throws ERR_PROBE_ENGINE_STATE (closing it stopped the engine for good)', async () => {
    for (const capture of [false, true]) {
      const engine = new ProbeEngine({ ...options(), capture });
      engine.outcomes.close();
      let err: unknown;
      try {
        engine.start();
      } catch (e) {
        err = e;
      }
      expect(err, `capture ${capture}`).toBeInstanceOf(ProbeEngineError);
      expect((err as ProbeEngineError).code).toBe('ERR_PROBE_ENGINE_STATE');
      expect(engine.counters().sent).toBe(0);
      await engine.stop();
    }
  });

  it('the capture owns the replies ring from construction: no other producer can attach before start()', async () => {
    const engine = new ProbeEngine({ ...options(), capture: true });
    expect(() => new TestProducer(engine.replies, { count: 1 })).toThrow(/already has a producer/);
    await engine.stop();
  });

  it('a running engine in a worker that is terminated, or in a process that exits, is joined without a crash', () => {
    const opts = { ...options({ job: { ...job, ports: new Uint32Array([1, 1, 65535]) }, rate: 20000, maxRetries: 3 }) };
    const { job: _j, ...rest } = opts;
    void _j;
    const script = `
      import { Worker } from 'node:worker_threads';
      const src = \`
        const { parentPort } = require('node:worker_threads');
        import(${JSON.stringify(distIndex)}).then(({ ProbeEngine }) => {
          const job = { segments: new Uint32Array([4, 0, 0, 0, 0, 0x7f000001, 0, 0, 0, 0x7f000002]), blockBits: new Uint32Array(0),
            ports: new Uint32Array([1, 1, 65535]), seed: 1n, natural: false, shardIndex: 0, shardCount: 1, position: 0 };
          const e = new ProbeEngine({ ...${JSON.stringify(rest)}, job, onReplies: () => {}, onOutcomes: () => {} });
          e.start();
          setTimeout(() => { parentPort.postMessage(e.counters().sent); if (process.env.SELF_EXIT) process.exit(0); }, 30);
        });
      \`;
      let ok = 0;
      for (let i = 0; i < 4; i++) {
        const w = new Worker(src, { eval: true, execArgv: [], env: i % 2 ? { SELF_EXIT: '1' } : {} });
        const exited = new Promise((res) => w.once('exit', res));
        const sent = await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
        if (i % 2 === 0) await w.terminate();
        await exited;
        if (sent > 0) ok++;
      }
      // And the main thread exits with one running.
      const { ProbeEngine } = await import(${JSON.stringify(distIndex)});
      const job = { segments: new Uint32Array([4, 0, 0, 0, 0, 0x7f000001, 0, 0, 0, 0x7f000002]), blockBits: new Uint32Array(0),
        ports: new Uint32Array([1, 1, 65535]), seed: 1n, natural: false, shardIndex: 0, shardCount: 1, position: 0 };
      new ProbeEngine({ ...${JSON.stringify(rest)}, job, onReplies: () => {}, onOutcomes: () => {} }).start();
      console.log('workers', ok);
      setTimeout(() => process.exit(0), 30);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('workers 4');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });

  it('runs to done on loopback and stop() is idempotent (root)', async () => {
    let noAnswer = 0;
    const engine = new ProbeEngine({ ...options({ maxRetries: 0, initialRttMs: 20, minRttMs: 10, maxRttMs: 20, lingerMs: 0 }), capture: false,
      onOutcomes: (b) => { for (let k = 0; k < b.count; k++) if (b.bytes[(b.start + k) * 64 + 1] === 5) noAnswer++; } });
    expect(engine.state).toBe('created');
    engine.start();
    expect(engine.state).toBe('running');
    expect(() => engine.start()).toThrow(/runs once/);
    await engine.done;
    expect(engine.state).toBe('done');
    expect(noAnswer).toBe(20);
    const c = engine.counters();
    expect([c.probes, c.sent, c.lowWater, c.highWater, c.inFlight]).toEqual([20, 20, 20, 20, 0]);
    await engine.stop();
    await engine.stop();
    expect(engine.state).toBe('done');
  });
  it('skipHosts: a host named before start() gets no probe; its positions end without records (root)', async () => {
    let noAnswer = 0;
    const engine = new ProbeEngine({ ...options({ maxRetries: 0, initialRttMs: 20, minRttMs: 10, maxRttMs: 20, lingerMs: 0 }), capture: false,
      onOutcomes: (b) => { for (let k = 0; k < b.count; k++) if (b.bytes[(b.start + k) * 64 + 1] === 5) noAnswer++; } });
    for (const bad of [['127.0.0.300'], ['example.com'], [''], [7 as unknown as string]]) {
      let err: unknown;
      try {
        engine.skipHosts(bad);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(ProbeEngineError);
      expect((err as ProbeEngineError).option).toBe('skipHosts');
    }
    engine.skipHosts(['127.0.0.2', '::1']);
    engine.start();
    await engine.done;
    const c = engine.counters();
    expect(noAnswer).toBe(10);
    expect([c.probes, c.sent, c.skipped, c.lowWater, c.inFlight]).toEqual([10, 10, 10, 20, 0]);
    await engine.stop();
  });
});
