// Root-only checks of the ProbeEngine that need no lab: the native side's validation (its
// constructor opens sockets), EPERM without CAP_NET_RAW (a child with net_raw dropped from
// its bounding set by setpriv), and a run to `done` on this namespace's loopback.
import { spawnSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { ProbeEngine, ProbeEngineError, SEGMENT_WORDS, type JobLayout, type ProbeEngineOptions } from '../../ts/index.js';

const skip = inject('labSkipReason');
const distIndex = new URL('../../dist/index.js', import.meta.url).pathname;

function v4Range(first: number, last: number): Uint32Array {
  const w = new Uint32Array(SEGMENT_WORDS);
  w[0] = 4;
  w[5] = first;
  w[9] = last;
  return w;
}

const job: JobLayout = {
  segments: v4Range(0x7f000001, 0x7f000002), blockBits: new Uint32Array(0), ports: new Uint32Array([1, 1, 10]),
  seed: 1n, natural: false, shardIndex: 0, shardCount: 1, position: 0,
};
const options = (over: Partial<ProbeEngineOptions> = {}): ProbeEngineOptions => ({
  mode: 'tcp-syn', job,
  link: { interface: 'lo', ifindex: 1, layer: 'ip', srcMac: null, srcV4: '127.0.0.1', srcV6: null, routes: [], neighbors: [], mtu: 65535 },
  sourcePorts: { first: 61000, count: 100 }, rate: 1000, maxRetries: 1, initialRttMs: 100, minRttMs: 10, maxRttMs: 1000, window: 64,
  ...over,
});

function optionError(over: Partial<ProbeEngineOptions>): ProbeEngineError {
  try {
    new ProbeEngine(options(over)).stop();
  } catch (err) {
    return err as ProbeEngineError;
  }
  throw new Error(`no error for ${JSON.stringify(Object.keys(over))}`);
}

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
});
