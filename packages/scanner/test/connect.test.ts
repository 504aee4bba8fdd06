// The connect engine's side of the native records (engines/connect-native.ts) and what
// only the native engine does: IPv6 sockets, checkpoints that never fall behind what the
// native thread handed out. No root: loopback only.
import net from 'node:net';
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD_SIZE, RecordFlag, RecordKind } from '@portflow/native';
import { classifyConnectRecord, errnoName, outcomeReason, outcomeState, UNKNOWN_ERRNO } from '../src/engines/connect-native.js';
import { reasonName, STATE_CODE } from '../src/results.js';
import { scan } from '../src/index.js';
import { listen, ofType, recordingBus, type Listeners } from './helpers/loopback.js';

function record(kind: number, family: 4 | 6, fill: (b: Uint8Array, v: DataView) => void): [Uint8Array, DataView] {
  const b = new Uint8Array(RECORD_SIZE);
  const v = new DataView(b.buffer);
  b[0] = 1;
  b[1] = kind;
  b[2] = family;
  b[3] = RecordFlag.JobPosition;
  fill(b, v);
  return [b, v];
}

function classify(kind: number, family: 4 | 6, fill: (b: Uint8Array, v: DataView) => void): [string, string | undefined] | 'unknown' {
  const [b, v] = record(kind, family, fill);
  const o = classifyConnectRecord(b, v, 0);
  if (o === UNKNOWN_ERRNO) return 'unknown';
  const states = Object.entries(STATE_CODE).find(([, c]) => c === outcomeState(o))!;
  return [states[0], reasonName(outcomeReason(o))];
}

describe('connect records → state and reason', () => {
  it('maps TCP answers: SYN|ACK open, our own SYN a self-connect, RST|ACK refused, RST reset', () => {
    const tcp = (flags: number) => classify(RecordKind.TcpReply, 4, (b) => (b[49] = flags));
    expect(tcp(0x12)).toEqual(['open', 'syn-ack']);
    expect(tcp(0x02)).toEqual(['closed', 'self-connect']);
    expect(tcp(0x14)).toEqual(['closed', 'conn-refused']);
    expect(tcp(0x04)).toEqual(['closed', 'reset']);
  });

  it('maps unreachables by family: ICMP 3/0,1,13 and ICMPv6 1/0,3,1', () => {
    const icmp = (family: 4 | 6, type: number, code: number) => classify(RecordKind.IcmpError, family, (b) => ((b[49] = type), (b[50] = code)));
    expect(icmp(4, 3, 0)).toEqual(['filtered', 'net-unreach']);
    expect(icmp(4, 3, 1)).toEqual(['filtered', 'host-unreach']);
    expect(icmp(4, 3, 13)).toEqual(['filtered', 'admin-prohibited']);
    expect(icmp(6, 1, 0)).toEqual(['filtered', 'net-unreach']);
    expect(icmp(6, 1, 3)).toEqual(['filtered', 'host-unreach']);
    expect(icmp(6, 1, 1)).toEqual(['filtered', 'admin-prohibited']);
  });

  it('maps NoAnswer: a timeout (errno 0 or ETIMEDOUT) is no-response, another errno is left to the engine', () => {
    const none = (errno: number) => classify(RecordKind.NoAnswer, 4, (_, v) => v.setUint32(36, errno, true));
    expect(none(0)).toEqual(['filtered', 'no-response']);
    expect(none(constants.errno.ETIMEDOUT)).toEqual(['filtered', 'no-response']);
    expect(none(constants.errno.EPROTO)).toBe('unknown');
    expect(errnoName(constants.errno.EPROTO)).toBe('EPROTO');
    expect(errnoName(100000)).toBe('ERRNO100000');
  });
});

describe('native connect scan', () => {
  let v6: net.Server | undefined;
  let v6Port = 0;
  let open: Listeners;

  beforeAll(async () => {
    open = await listen(2);
    v6 = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve, reject) => {
      v6!.once('error', reject);
      v6!.listen({ port: 0, host: '::1', ipv6Only: true }, resolve);
    }).catch(() => (v6 = undefined));
    if (v6) v6Port = (v6.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await open.close();
    if (v6) await new Promise((r) => v6!.close(r));
  });

  it('scans IPv6 targets with IPv6 sockets', async (ctx) => {
    if (!v6) ctx.skip();
    const { bus, events } = recordingBus();
    const ports = [v6Port, ...open.ports].sort((a, b) => a - b);
    const r = await scan({ targets: '::1', ports: ports.join(',') }, { bus }).results;
    expect(r.outcome).toBe('completed');
    expect(ofType(events, 'IPv6PortFound').map((e) => [e.target, e.port, e.state, e.reason])).toEqual([['::1', v6Port, 'open', 'syn-ack']]);
    expect(r.hosts[0].defaultState).toEqual({ state: 'closed', reason: 'conn-refused', count: ports.length - 1 });
    const last = ofType(events, 'ProgressUpdate').at(-1)!;
    expect(last.counters.bytesSent).toBe(80 * ports.length);
  });

  it('checkpoints never lag what was handed out: lowWater <= highWater <= length, both monotonic, every position once', async () => {
    const { bus, events } = recordingBus();
    const N = 6000;
    const r = await scan({ targets: '127.0.0.1', ports: `1-${N}`, concurrency: 16, checkpointIntervalMs: 100, report: { closed: true } }, { bus }).results;
    expect(r.outcome).toBe('completed');
    const cps = ofType(events, 'ScanCheckpoint');
    let low = 0;
    let high = 0;
    for (const cp of cps) {
      expect(cp.lowWater).toBeGreaterThanOrEqual(low);
      expect(cp.highWater).toBeGreaterThanOrEqual(high);
      expect(cp.lowWater).toBeLessThanOrEqual(cp.highWater);
      expect(cp.highWater).toBeLessThanOrEqual(N);
      // Every published result is below highWater, and lowWater never passes an unpublished one.
      expect(cp.completed).toBeGreaterThanOrEqual(cp.lowWater);
      low = cp.lowWater;
      high = cp.highWater;
    }
    expect(cps.at(-1)).toMatchObject({ lowWater: N, highWater: N, completed: N });
    const ports = ofType(events, 'PortFound').map((e) => e.port);
    expect(new Set(ports).size).toBe(N);
    const m = new Map(ofType(events, 'MetricRecorded').map((e) => [e.metric, e.value]));
    expect(m.get('probes.sent')).toBe(N);
    expect(m.get('connect.concurrency')).toBeLessThanOrEqual(16);
  });
});
