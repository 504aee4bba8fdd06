import { describe, expect, it } from 'vitest';
import {
  colorEnabled,
  combineMetrics,
  detectTerminal,
  formatBytesRate,
  formatCount,
  formatDuration,
  formatPercent,
  ProgressOptionError,
  ProgressReporter,
  renderBars,
  renderCompact,
  renderDetailed,
  unicodeBars,
  type ProgressMetrics,
  type Renderer,
} from '../src/index.js';
import { drive, finalMetrics } from './drive.js';
import { simulate } from './simulate.js';

const sim = simulate([
  { stage: 'TargetResolution', total: 20, rate: () => 1 },
  { stage: 'HostDiscovery', total: 1300, rate: () => 10 },
  { stage: 'PortScanning', total: 750_000, rate: () => 1000 },
  { stage: 'ServiceDetection', total: 800, rate: () => 10 },
  { stage: 'Finalization', total: 0, durationMs: 20_000 },
]);
const all = drive(sim);
const running: ProgressMetrics = {
  ...all[700],
  inFlight: 512,
  retriesPending: 12,
  found: { hostsUp: 16, openPorts: 224, portsReported: 230, services: 40, warnings: 2, errors: 0 },
  throughput: { packetsPerSec: 1234, portsPerSec: 1000, hostsPerMin: 12.5, bytesPerSec: 74_040 },
};
const paused: ProgressMetrics = { ...running, state: 'paused' };
const stalled: ProgressMetrics = { ...running, stalled: true };
const discovery: ProgressMetrics = all[60];
const completed: ProgressMetrics = finalMetrics(sim);
const cancelled: ProgressMetrics = { ...running, state: 'cancelled', eta: { ms: null, using: null, linear: null, ewma: null, multiStage: null, accuracy: 'unknown' } };
const idle: ProgressMetrics = combineMetrics([]);
const global: ProgressMetrics = combineMetrics([running, { ...discovery, scanId: 'scan-b' }]);
const STATES = { running, paused, stalled, discovery, completed, cancelled, idle, global };
const RENDERERS: Record<string, Renderer> = { compact: renderCompact, detailed: renderDetailed, bars: renderBars };

// eslint-disable-next-line no-control-regex
const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('renderers', () => {
  for (const [name, render] of Object.entries(RENDERERS)) {
    describe(name, () => {
      for (const width of [20, 40, 80, 120]) {
        it(`snapshot at ${width} columns: UTF-8, ASCII, colour`, () => {
          const out = {
            utf8: render(running, { width }),
            ascii: render(running, { width, unicode: false }),
            color: render(running, { width, color: true }),
          };
          expect(out).toMatchSnapshot();
        });
      }
      it('snapshot of every state at 80 columns', () => {
        const out = Object.fromEntries(Object.entries(STATES).map(([k, m]) => [k, render(m, { width: 80, unicode: false })]));
        expect(out).toMatchSnapshot();
      });
      it('never exceeds the width, never wraps, at any width', () => {
        for (const m of Object.values(STATES)) {
          for (let width = 1; width <= 130; width++) {
            for (const color of [false, true]) {
              const lines = render(m, { width, color });
              expect(lines.length).toBeGreaterThan(0);
              for (const l of lines) {
                expect(l).not.toMatch(/[\n\r]/);
                expect([...strip(l)].length).toBeLessThanOrEqual(width);
                if (!color) expect(l).not.toMatch(/\x1b/);
              }
            }
          }
        }
      });
      it('ASCII mode prints only ASCII', () => {
        for (const m of Object.values(STATES)) for (const l of render(m, { width: 100, unicode: false })) expect(l).toMatch(/^[\x20-\x7e]*$/);
      });
    });
  }

  it('a completed scan is at 100% with every stage done', () => {
    expect(completed).toMatchObject({ state: 'completed', percentage: 100, elapsedMs: 1_000_000, eta: { ms: 0 } });
    expect(completed.stages.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('compact matches the issue\'s layout', () => {
    expect(renderCompact(running, { width: 80 })[0]).toMatch(/^\[Stage 3\/5\] Port Scanning [▓░]{20} 69% \| ETA: 5m 2s$/);
    expect(renderCompact(completed)[0]).toBe('[Stage 5/5] Completed ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ 100% | took 16m 40s');
  });

  it('colours the ETA by its accuracy', () => {
    const line = (accuracy: 'high' | 'medium' | 'low' | 'unknown'): string =>
      renderDetailed({ ...running, eta: { ...running.eta, accuracy } }, { color: true })[0];
    expect(line('high')).toContain('\x1b[32m5m 2s');
    expect(line('medium')).toContain('\x1b[33m5m 2s');
    expect(line('low')).toContain('\x1b[31m5m 2s');
    expect(line('unknown')).toContain('\x1b[2m5m 2s');
  });

  it('rejects a bad width', () => {
    expect(() => renderCompact(running, { width: 0 })).toThrow(ProgressOptionError);
    expect(() => renderBars(running, { width: 10.5 })).toThrow(/width/);
  });
});

describe('human units', () => {
  it('counts and rates', () => {
    expect([0, 7, 2.5, 950, 999, 1000, 1234, 12_345, 999_499, 999_500, 3_400_000, 2e9].map(formatCount)).toEqual([
      '0', '7', '2.5', '950', '999', '1.0k', '1.2k', '12k', '999k', '1.0M', '3.4M', '2.0G',
    ]);
    expect(formatCount(Number.NaN)).toBe('0');
    expect([0, 512, 74_040, 1_300_000, 250e6].map(formatBytesRate)).toEqual(['0 B/s', '512 B/s', '74.0 kB/s', '1.3 MB/s', '250 MB/s']);
  });
  it('durations', () => {
    expect([0, 400, 42_000, 204_000, 7_500_000, 270_000_000].map(formatDuration)).toEqual(['0s', '1s', '42s', '3m 24s', '2h 05m', '3d 3h']);
    expect(formatDuration(null)).toBe('--');
    expect(formatDuration(Number.NaN)).toBe('--');
  });
  it('percentages round down: never a premature 100%', () => {
    expect(formatPercent(99.97)).toBe('99%');
    expect(formatPercent(99.97, 1)).toBe('99.9%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(Number.NaN)).toBe('0%');
  });
});

describe('terminal capabilities', () => {
  it('NO_COLOR and FORCE_COLOR', () => {
    expect(colorEnabled(true, {})).toBe(true);
    expect(colorEnabled(false, {})).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorEnabled(true, { FORCE_COLOR: 'false' })).toBe(false);
    expect(colorEnabled(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(true, { TERM: 'dumb' })).toBe(false);
  });
  it('bar characters only in a UTF-8 locale that draws them one column wide', () => {
    expect(unicodeBars({ LANG: 'en_US.UTF-8' })).toBe(true);
    expect(unicodeBars({ LANG: 'C.utf8' })).toBe(true);
    expect(unicodeBars({ LANG: 'C' })).toBe(false);
    expect(unicodeBars({})).toBe(false);
    expect(unicodeBars({ LANG: 'en_US.UTF-8', LC_ALL: 'POSIX' })).toBe(false);
    expect(unicodeBars({ LANG: 'ja_JP.UTF-8' })).toBe(false);
    expect(unicodeBars({ LC_CTYPE: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' })).toBe(false);
  });
  it('width from the TTY, else COLUMNS, else 80', () => {
    expect(detectTerminal({ isTTY: true, columns: 132 }, {}).width).toBe(132);
    expect(detectTerminal({ isTTY: false }, { COLUMNS: '100' }).width).toBe(100);
    expect(detectTerminal({}, { COLUMNS: 'wide' }).width).toBe(80);
  });
});

describe('ProgressReporter', () => {
  const sink = (isTTY: boolean, columns = 60): { isTTY: boolean; columns: number; out: string[]; write(s: string): boolean } => ({
    isTTY,
    columns,
    out: [],
    write(s: string) {
      this.out.push(s);
      return true;
    },
  });

  it('non-TTY: plain lines, no cursor movement, at most one per plainIntervalMs unless the stage or state changes', () => {
    const s = sink(false);
    let now = 0;
    let m: ProgressMetrics = running;
    const r = new ProgressReporter({ stream: s, metrics: () => m, env: { LANG: 'en_US.UTF-8' }, clock: () => now, plainIntervalMs: 5000 });
    expect(r.draw()).toBe(true);
    now = 1000;
    expect(r.draw()).toBe(false);
    now = 5000;
    expect(r.draw()).toBe(true);
    now = 5500;
    m = completed;
    expect(r.draw()).toBe(true);
    expect(s.out).toHaveLength(3);
    for (const chunk of s.out) {
      expect(chunk).not.toMatch(/\x1b/);
      expect(chunk.endsWith('\n')).toBe(true);
    }
    expect(s.out[2]).toContain('Completed');
  });

  it('TTY: redraws in place, honouring the width and colour', () => {
    const s = sink(true, 50);
    const r = new ProgressReporter({ stream: s, metrics: () => running, renderer: 'bars', env: { LANG: 'en_US.UTF-8', NO_COLOR: '1' } });
    r.draw();
    r.draw();
    expect(s.out[0].startsWith('\x1b[2K')).toBe(true);
    expect(s.out[1].startsWith('\r\x1b[5A\x1b[2K')).toBe(true); // six lines: back up five
    for (const l of strip(s.out[1].replace(/\x1b\[\d*[AJK]/g, '').replace(/\r/g, '')).split('\n')) expect([...l].length).toBeLessThanOrEqual(50);
    expect(s.out[1]).not.toMatch(/\x1b\[\d+m/);
    r.stop();
    expect(s.out.at(-1)).toBe('\n');
  });

  it('validates its options', () => {
    expect(() => new ProgressReporter({ stream: {} as never, metrics: () => running })).toThrow(/stream/);
    expect(() => new ProgressReporter({ stream: sink(false), metrics: 1 as never })).toThrow(/metrics/);
    expect(() => new ProgressReporter({ stream: sink(false), metrics: () => running, renderer: 'fancy' as never })).toThrow(/renderer/);
  });
});
