// A ProbeEngine configuration over this host's (or namespace's) loopback: 127.0.0.1-2 x
// TCP 1-10 through raw IP sockets on lo. Shared by the option-validation tests and the
// root-only local lab.
import { ProbeEngine, ProbeEngineError, SEGMENT_WORDS, type JobLayout, type ProbeEngineOptions } from '../../ts/index.js';

/** Segment words of one IPv4 range (the job's layout). */
export function v4Range(first: number, last: number): Uint32Array {
  const w = new Uint32Array(SEGMENT_WORDS);
  w[0] = 4;
  w[5] = first;
  w[9] = last;
  return w;
}

export const job: JobLayout = {
  segments: v4Range(0x7f000001, 0x7f000002), blockBits: new Uint32Array(0), ports: new Uint32Array([1, 1, 10]),
  seed: 1n, natural: false, shardIndex: 0, shardCount: 1, position: 0,
};

export const options = (over: Partial<ProbeEngineOptions> = {}): ProbeEngineOptions => ({
  mode: 'tcp-syn', job,
  link: { interface: 'lo', ifindex: 1, layer: 'ip', srcMac: null, srcV4: '127.0.0.1', srcV6: null, routes: [], neighbors: [], mtu: 65536 },
  sourcePorts: { first: 61000, count: 100 }, rate: 1000, maxRetries: 1, initialRttMs: 100, minRttMs: 10, maxRttMs: 1000, window: 64,
  ...over,
});

/** The error constructing an engine with these options throws (fails if none). */
export function optionError(over: Partial<ProbeEngineOptions>): ProbeEngineError {
  try {
    new ProbeEngine(options(over)).stop();
  } catch (err) {
    return err as ProbeEngineError;
  }
  throw new Error(`no error for ${JSON.stringify(Object.keys(over))}`);
}
