import { describe, expect, it } from 'vitest';
import {
  EVENT_TYPES,
  fromJSON,
  parseLine,
  toJSON,
  toJSONLine,
  logStarted,
  logEnded,
  scanConfigLine,
  portFound,
  ipv6PortFound,
  SerializeError,
  WireFormatError,
  type ScanEvent,
} from '../src/index.js';
import { sampleEvents } from './samples.js';

describe('wire format', () => {
  it('covers every event type in the samples', () => {
    const types = new Set(sampleEvents().map((e) => e.type));
    expect([...types].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('round-trips every event type exactly', () => {
    let seq = 1;
    for (const e of sampleEvents()) {
      e.seq = seq++;
      const line = toJSON(e);
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toContain('\n');
      expect(fromJSON(line)).toEqual(e);
      // Same as the reference encoder, field for field.
      const ref = JSON.parse(line) as Record<string, unknown>;
      expect(ref.scan_id).toBe(e.scanId);
      expect(ref.timestamp).toBe(new Date(e.timestamp).toISOString());
    }
  });

  it('writes snake_case names and fields, omits undefined optionals', () => {
    const e = portFound('s', Date.UTC(2025, 10, 9, 12, 0, 2, 123), '192.168.1.1', 80, 'tcp', 'open');
    e.seq = 12;
    expect(toJSON(e)).toBe('{"event":"port_found","seq":12,"scan_id":"s","timestamp":"2025-11-09T12:00:02.123Z","target":"192.168.1.1","port":80,"protocol":"tcp","state":"open"}');
    const p = sampleEvents().find((x) => x.type === 'ProgressUpdate') as ScanEvent;
    expect(toJSON(p)).toContain('"in_flight":512');
    expect(toJSON(p)).toContain('"counters":{"packets_sent":111000');
    expect(JSON.parse(toJSON(sampleEvents().find((x) => x.type === 'IPv6PortFound') as ScanEvent)).event).toBe('ipv6_port_found');
    expect(JSON.parse(toJSON(sampleEvents().find((x) => x.type === 'OSDetected') as ScanEvent)).event).toBe('os_detected');
  });

  it('treats an absent field and an undefined one alike', () => {
    const line = '{"event":"port_found","seq":1,"scan_id":"s","timestamp":"2025-11-09T12:00:02.123Z","target":"10.0.0.1","port":1,"protocol":"tcp","state":"closed"}';
    const e = fromJSON(line);
    const expected = portFound('s', Date.UTC(2025, 10, 9, 12, 0, 2, 123), '10.0.0.1', 1, 'tcp', 'closed');
    expected.seq = 1;
    expect(e).toEqual(expected);
    expect('reason' in e).toBe(true); // present as undefined: one hidden class
    expect(toJSON(e)).toBe(line);
  });

  it('writes IPv6 addresses in RFC 5952 form and reads any form', () => {
    const e = ipv6PortFound('s', 0, '2001:0DB8:0000:0000:0000:0000:0000:0001', 22, 'tcp', 'open');
    expect(JSON.parse(toJSON(e)).target).toBe('2001:db8::1');
    const line = toJSON(e).replace('2001:db8::1', '2001:DB8:0:0::1');
    expect((fromJSON(line) as { target: string }).target).toBe('2001:db8::1');
  });

  it('accepts PascalCase event names', () => {
    const line = '{"event":"PortFound","seq":3,"scan_id":"s","timestamp":"2025-11-09T12:00:02.123Z","target":"10.0.0.1","port":22,"protocol":"tcp","state":"open"}';
    expect(fromJSON(line).type).toBe('PortFound');
  });

  it('rejects malformed input with a typed error naming the field', () => {
    const good = JSON.parse(toJSON(portFound('s', 0, '10.0.0.1', 22, 'tcp', 'open'))) as Record<string, unknown>;
    const cases: [Record<string, unknown> | string, string][] = [
      ['not json', ''],
      ['[1,2]', ''],
      [{ ...good, event: 'no_such_event' }, 'event'],
      [{ ...good, event: 42 }, 'event'],
      [{ ...good, port: '22' }, 'port'],
      [{ ...good, port: 1.5 }, 'port'],
      [{ ...good, state: 'ajar' }, 'state'],
      [{ ...good, target: '10.0.0.256' }, 'target'],
      [{ ...good, timestamp: 'yesterday' }, 'timestamp'],
      [{ ...good, seq: undefined }, 'seq'],
      [{ ...good, scan_id: null }, 'scan_id'],
      [{ ...good, ttl: 'x' }, 'ttl'],
    ];
    for (const [input, field] of cases) {
      const line = typeof input === 'string' ? input : JSON.stringify(input);
      let err: unknown;
      try {
        fromJSON(line);
      } catch (e) {
        err = e;
      }
      expect(err, line).toBeInstanceOf(WireFormatError);
      expect((err as WireFormatError).code).toBe('ERR_WIRE_FORMAT');
      expect((err as WireFormatError).field, line).toBe(field);
      if (field) expect((err as Error).message).toContain(field);
    }
  });

  it('refuses to write NaN or infinite numbers', () => {
    const p = portFound('s', 0, '10.0.0.1', Number.NaN, 'tcp', 'open');
    expect(() => toJSON(p)).toThrow(SerializeError);
    const m = sampleEvents().find((x) => x.type === 'MetricRecorded') as { value: number };
    expect(() => toJSON({ ...(m as object), value: Infinity } as ScanEvent)).toThrow(/value/);
  });

  it('defines and round-trips the log meta lines', () => {
    const lines = [logStarted('bus-1', 1762689602123), scanConfigLine('s', 1762689602124, { ports: '1-1024', rate: 1000 }), logEnded(1762689602125, 10, 0), logEnded(1762689602125)];
    for (const l of lines) expect(parseLine(toJSONLine(l))).toEqual(l);
    expect(toJSONLine(lines[0])).toBe('{"event":"log_started","timestamp":"2025-11-09T12:00:02.123Z","version":"1.0","format":1,"bus_id":"bus-1"}');
    expect(() => fromJSON(toJSONLine(lines[0]))).toThrow(WireFormatError);
    expect(parseLine(toJSON(sampleEvents()[0]))).toEqual(sampleEvents()[0]);
  });
});
