// ProbeEngine option validation: no root needed, options are checked before any socket is
// opened. Root-only checks (native validation, EPERM, a loopback run) are in
// test/lab/probe-engine-local.lab.test.ts; sending and matching in test/lab and test/cpp.
import { describe, expect, it } from 'vitest';
import { ProbeEngineError, type ProbeEngineOptions } from '../ts/index.js';
import { job, optionError, options } from './helpers/probe-engine-fixture.js';

describe('ProbeEngine options', () => {
  it('refuses bad options with a typed error naming the option', () => {
    const cases: Array<[Partial<ProbeEngineOptions>, string]> = [
      [{ mode: 'fin' as never }, 'mode'],
      [{ rate: 0 }, 'rate'],
      [{ rate: Number.NaN }, 'rate'],
      [{ maxRetries: -1 }, 'maxRetries'],
      [{ maxRetries: 1.5 }, 'maxRetries'],
      [{ window: 0 }, 'window'],
      [{ minRttMs: 500, maxRttMs: 100 }, 'minRttMs'],
      [{ initialRttMs: Infinity }, 'initialRttMs'],
      [{ sourcePorts: { first: 65500, count: 100 } }, 'sourcePorts'],
      [{ cookieKey: 'xyz' }, 'cookieKey'],
      [{ ringCapacity: 1000 }, 'ringCapacity'],
      [{ ttl: 0 }, 'ttl'],
      [{ lingerMs: -1 }, 'lingerMs'],
      [{ end: -5 }, 'end'],
      [{ job: { ...job, position: -1 } }, 'job.position'],
      [{ job: { ...job, segments: [1, 2] as never } }, 'job'],
      [{ link: { ...options().link, layer: 'wifi' as never } }, 'link.layer'],
      [{ link: { ...options().link, mtu: 65537 } }, 'link.mtu'],
      [{ link: { ...options().link, mtu: 67 } }, 'link.mtu'],
      [{ link: { ...options().link, srcV4: '::1' } }, 'link.srcV4'],
      [{ link: { ...options().link, srcV4: null } }, 'link'],
      [{ link: { ...options().link, layer: 'ethernet', srcMac: 'nope' } }, 'link.srcMac'],
      [{ link: { ...options().link, routes: [{ prefix: '10.0.0.0/33', mac: null }] } }, 'link.routes[0].prefix'],
      [{ link: { ...options().link, neighbors: [{ address: '10.0.0.1', mac: 'zz' }] } }, 'link.neighbors[0].mac'],
      [{ mode: 'discovery' }, 'discovery'],
      [{ mode: 'discovery', discovery: [{ method: 'arp' }] }, 'discovery[0].method'],  // the link is 'ip'
      [{ mode: 'discovery', discovery: [{ method: 'ping' as never }] }, 'discovery[0].method'],
      [{ mode: 'discovery', discovery: [{ method: 'tcp-syn', port: 0 }] }, 'discovery[0].port'],
      [{ mode: 'discovery', discovery: [{ method: 'tcp-syn', port: 80 }, { method: 'tcp-ack', port: 80 }] }, 'discovery[1]'],
      [{ mode: 'discovery', discovery: [{ method: 'icmp-echo' }, { method: 'tcp-syn' }, { method: 'icmp-echo' }] }, 'discovery[2]'],
      [{ udpPayloads: new Map([[53, 'x' as never]]) }, 'udpPayloads'],
    ];
    for (const [over, option] of cases) {
      const err = optionError(over);
      expect(err, option).toBeInstanceOf(ProbeEngineError);
      expect(err.code, option).toBe('ERR_PROBE_ENGINE_OPTION');
      expect(err.option, option).toBe(option);
      expect(err.message.startsWith(`${option}:`), err.message).toBe(true);
    }
  });
});
