import { describe, expect, it } from 'vitest';
import { curatedPortCount, fastPorts, parsePortTable, portRank, serviceName, topPorts } from '../src/index.js';

describe('ranked port table', () => {
  it('ranks every port of each protocol exactly once', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      const all = topPorts(65535, proto);
      expect(new Set(all).size).toBe(65535);
      expect(Math.min(...all)).toBe(1);
      expect(Math.max(...all)).toBe(65535);
    }
  });

  it('puts the curated ports first, then system ports, then the rest, ascending', () => {
    const n = curatedPortCount('tcp');
    expect(n).toBeGreaterThanOrEqual(100);
    const all = topPorts(65535, 'tcp');
    const rest = all.slice(n);
    const firstHigh = rest.findIndex((p) => p >= 1024);
    expect(rest.slice(0, firstHigh).every((p) => p < 1024)).toBe(true);
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
  });

  it('serves top-N, the fast set, ranks and names', () => {
    expect(topPorts(3)).toEqual([80, 443, 22]);
    expect(topPorts(1, 'udp')).toEqual([53]);
    expect(fastPorts()).toHaveLength(100);
    expect(fastPorts()).toEqual(topPorts(100));
    expect(portRank(80)).toBe(1);
    expect(serviceName(22)).toBe('ssh');
    expect(serviceName(53, 'udp')).toBe('domain');
    expect(serviceName(4, 'tcp')).toBeUndefined();
    expect(() => topPorts(65536)).toThrow(RangeError);
    expect(() => portRank(0)).toThrow(RangeError);
  });

  it('rejects a corrupt table with the file and line', () => {
    expect(() => parsePortTable('tcp 80 http\ntcp 80 again\n', 'ports.txt')).toThrow(/^ports\.txt:2: /);
    expect(() => parsePortTable('# ok\nsctp 80 http\n', 'ports.txt')).toThrow(expect.objectContaining({ code: 'ERR_PORT_TABLE' }));
    expect(() => parsePortTable('tcp 70000 big\n', 'ports.txt')).toThrow(/ports\.txt:1/);
  });
});
