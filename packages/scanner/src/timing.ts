// Timing templates -T0 … -T5 for the raw-packet scans (SYN, UDP, discovery), on
// nmap's model: the same names and round-trip timeouts, retries and host
// timeouts as nmap's templates (nmap(1), "Timing templates"), with nmap's
// --scan-delay turned into a packet rate, since the native sender paces by rate
// rather than by a delay between probes. Explicit options override a template.
import { ScanOptionError } from './scan-errors.js';

export type TimingLevel = 0 | 1 | 2 | 3 | 4 | 5;
export const TIMING_NAMES = ['paranoid', 'sneaky', 'polite', 'normal', 'aggressive', 'insane'] as const;
export type TimingName = (typeof TIMING_NAMES)[number];

export interface TimingTemplate {
  readonly level: TimingLevel;
  readonly name: TimingName;
  /** Probe timeout before any round trip is measured, ms (nmap --initial-rtt-timeout). */
  readonly initialRttMs: number;
  /** Floor and ceiling of the adaptive timeout srtt + 4·rttvar, ms (--min/--max-rtt-timeout). */
  readonly minRttMs: number;
  readonly maxRttMs: number;
  /** Resends of an unanswered probe (--max-retries). */
  readonly maxRetries: number;
  /** Packets per second the sender starts at; rate control ramps from here. */
  readonly initialRate: number;
  /** Ceiling unless maxRate says otherwise (nmap's --scan-delay as a rate; Infinity: the link's). */
  readonly maxRate: number;
  /** Probes in flight at most (the sender's window). */
  readonly window: number;
  /** Give a host up this long after its first probe (--host-timeout); none of nmap's templates sets one, nor do these. */
  readonly hostTimeoutMs?: number;
}

/**
 * The templates. Round-trip timeouts are nmap's (T3 is nmap's default: 1 s initial,
 * 100 ms – 10 s adaptive). Retries: nmap's T0–T2 and T5 counts; nmap's T3/T4 allow up to
 * 10 / 6 but start at one and raise the count only when it sees drops, whereas the probe
 * engine spends its count on every unanswered probe (every silent address of a -Pn scan),
 * so T3 and T4 use 3: at 2% loss per try an answered probe is then lost with 1.6 × 10⁻⁷.
 * nmap's scan delays of 5 min, 15 s
 * and 0.4 s (T0–T2) become 1/300, 1/15 and 2.5 packets per second, one probe in flight
 * for T0/T1 as nmap serialises them; T3–T5 start at 5,000 / 20,000 / 50,000 pps and let
 * rate control ramp up to the link (nmap has no rate ceiling there either).
 */
export const TIMING_TEMPLATES: readonly TimingTemplate[] = [
  { level: 0, name: 'paranoid', initialRttMs: 5 * 60_000, minRttMs: 100, maxRttMs: 10_000, maxRetries: 10, initialRate: 1 / 300, maxRate: 1 / 300, window: 1 },
  { level: 1, name: 'sneaky', initialRttMs: 15_000, minRttMs: 100, maxRttMs: 10_000, maxRetries: 10, initialRate: 1 / 15, maxRate: 1 / 15, window: 1 },
  { level: 2, name: 'polite', initialRttMs: 1000, minRttMs: 100, maxRttMs: 10_000, maxRetries: 10, initialRate: 2.5, maxRate: 2.5, window: 64 },
  { level: 3, name: 'normal', initialRttMs: 1000, minRttMs: 100, maxRttMs: 10_000, maxRetries: 3, initialRate: 5000, maxRate: Infinity, window: 65536 },
  { level: 4, name: 'aggressive', initialRttMs: 500, minRttMs: 100, maxRttMs: 1250, maxRetries: 3, initialRate: 20_000, maxRate: Infinity, window: 65536 },
  { level: 5, name: 'insane', initialRttMs: 250, minRttMs: 50, maxRttMs: 300, maxRetries: 2, initialRate: 50_000, maxRate: Infinity, window: 131072 },
];

/** A template by level (0–5), name ('aggressive') or nmap flag ('T4', '-T4'). */
export function timingTemplate(t: unknown): TimingTemplate {
  if (typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= 5) return TIMING_TEMPLATES[t];
  if (typeof t === 'string') {
    const m = /^-?T([0-5])$/i.exec(t.trim());
    if (m) return TIMING_TEMPLATES[Number(m[1])];
    const i = TIMING_NAMES.indexOf(t.trim().toLowerCase() as TimingName);
    if (i >= 0) return TIMING_TEMPLATES[i];
  }
  throw new ScanOptionError('timing', `scan: timing must be 0-5, "T0"-"T5" or one of ${TIMING_NAMES.join(', ')}, got ${JSON.stringify(t) ?? String(t)}`);
}

/** Timing after explicit options are applied over the template. */
export interface ResolvedTiming {
  readonly template: TimingTemplate;
  readonly initialRttMs: number;
  readonly minRttMs: number;
  readonly maxRttMs: number;
  readonly maxRetries: number;
  /** Rate control never goes below minRate nor above maxRate (pps). */
  readonly minRate: number;
  readonly maxRate: number;
  readonly initialRate: number;
  readonly window: number;
  /** A host not finished this long after its first probe is given up (undefined: never). */
  readonly hostTimeoutMs: number | undefined;
}

export interface TimingOverrides {
  initialRttMs?: number;
  minRttMs?: number;
  maxRttMs?: number;
  maxRetries?: number;
  minRate?: number;
  maxRate?: number;
  hostTimeoutMs?: number;
}

function rate(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0) || v > 1e8) throw new ScanOptionError(name, `scan: ${name} must be packets per second, above 0 and at most 100,000,000, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

/** Applies explicit options over a template; refuses contradictions with a typed error naming the option. */
export function resolveTiming(template: TimingTemplate, o: TimingOverrides): ResolvedTiming {
  const minRate = rate('minRate', o.minRate);
  const maxRate = rate('maxRate', o.maxRate);
  if (minRate !== undefined && maxRate !== undefined && minRate > maxRate) {
    throw new ScanOptionError('minRate', `scan: minRate ${minRate} is above maxRate ${maxRate}; lower minRate or raise maxRate`);
  }
  const max = maxRate ?? (minRate !== undefined ? Math.max(minRate, template.maxRate) : template.maxRate);
  const min = minRate ?? Math.min(template.initialRate, max, 100);
  let initial = Math.max(min, Math.min(template.initialRate, max));
  // A requested floor starts the scan there (nmap --min-rate sends at least that fast from the start).
  if (minRate !== undefined) initial = Math.max(initial, minRate);
  const minRttMs = o.minRttMs ?? template.minRttMs;
  const maxRttMs = o.maxRttMs ?? Math.max(template.maxRttMs, minRttMs);
  if (maxRttMs < minRttMs) throw new ScanOptionError('maxTimeoutMs', `scan: maxTimeoutMs (${maxRttMs}) is below minTimeoutMs (${minRttMs}); raise it or lower minTimeoutMs`);
  const initialRttMs = Math.min(Math.max(o.initialRttMs ?? template.initialRttMs, minRttMs), Math.max(maxRttMs, template.initialRttMs));
  return {
    template,
    initialRttMs,
    minRttMs,
    maxRttMs,
    maxRetries: o.maxRetries ?? template.maxRetries,
    minRate: min,
    maxRate: max,
    initialRate: initial,
    window: template.window,
    hostTimeoutMs: o.hostTimeoutMs ?? template.hostTimeoutMs,
  };
}
