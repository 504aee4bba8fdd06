/** Human units for a terminal: 1.2k pps, 3m 24s, 72.0 kB/s. Pure. */

const SI = ['', 'k', 'M', 'G', 'T', 'P'];

/** 950 → "950", 1234 → "1.2k", 12_345 → "12k", 3_400_000 → "3.4M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '0';
  if (n < 1000) return n >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
  let i = 0;
  let v = n;
  while (v >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 9.95 ? v.toFixed(1) : String(Math.round(v))}${SI[i]}`;
}

/** Bytes per second in SI units: "512 B/s", "72.0 kB/s", "1.3 MB/s". */
export function formatBytesRate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) return '0 B/s';
  if (bps < 1000) return `${Math.round(bps)} B/s`;
  let i = 0;
  let v = bps;
  while (v >= 999.5 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 99.95 ? v.toFixed(1) : String(Math.round(v))} ${SI[i]}B/s`;
}

/** "0s", "42s", "3m 24s", "2h 05m", "3d 4h". Rounded up to the second: a remaining 0.4 s is not "0s". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '--';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * A percentage for display: rounded down so that 99.7 shows "99", never a
 * premature "100" (only a completed scan is at exactly 100).
 */
export function formatPercent(pct: number, decimals = 0): string {
  const f = 10 ** decimals;
  const v = Math.floor((Number.isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0) * f) / f;
  return `${v.toFixed(decimals)}%`;
}
