import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { OptionError } from '@portflow/core';

/** strftime directives the file name may use; each expands to a fixed number of digits. */
const DIRECTIVES: Record<string, { width: number; get: (d: Date) => number }> = {
  Y: { width: 4, get: (d) => d.getFullYear() },
  m: { width: 2, get: (d) => d.getMonth() + 1 },
  d: { width: 2, get: (d) => d.getDate() },
  H: { width: 2, get: (d) => d.getHours() },
  M: { width: 2, get: (d) => d.getMinutes() },
  S: { width: 2, get: (d) => d.getSeconds() },
  j: { width: 3, get: (d) => dayOfYear(d) },
  y: { width: 2, get: (d) => d.getFullYear() % 100 },
};

function dayOfYear(d: Date): number {
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1;
}

/** `~` and `~/x` become the home directory; the result is absolute. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return resolve(path);
}

/** A log path: `~` expanded, absolute, with strftime directives (local time) allowed in the file name only. */
export class LogPath {
  readonly dir: string;
  /** The file name as given, possibly with % directives. */
  readonly namePattern: string;
  readonly dated: boolean;
  /** Matches every file of the set: the active name, `.N` rotations, `.gz` of either. Group 1: N. */
  readonly setRegex: RegExp;

  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new OptionError('the log path must be a non-empty string, e.g. "~/scans/scan-%Y-%m-%d.jsonl"');
    const abs = expandHome(path);
    this.dir = dirname(abs);
    this.namePattern = basename(abs);
    if (this.dir.includes('%')) throw new OptionError(`log path ${path}: strftime directives are allowed in the file name only, not in directories`);
    let re = '';
    let dated = false;
    for (let i = 0; i < this.namePattern.length; i++) {
      const c = this.namePattern[i];
      if (c !== '%') {
        re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        continue;
      }
      const k = this.namePattern[++i];
      if (k === '%') {
        re += '%';
        continue;
      }
      const dir = k === undefined ? undefined : DIRECTIVES[k];
      if (dir === undefined) {
        throw new OptionError(`log path ${path}: unknown strftime directive %${k ?? ''}; use %Y %m %d %H %M %S %j %y or %%`);
      }
      dated = true;
      re += `\\d{${dir.width}}`;
    }
    if (this.namePattern.endsWith('.gz') || this.namePattern.endsWith('.lock')) {
      throw new OptionError(`log path ${path}: name the live file (e.g. scans.jsonl); .gz and .lock names belong to rotation and locking`);
    }
    this.dated = dated;
    this.setRegex = new RegExp(`^${re}(?:\\.(\\d+))?(?:\\.gz)?$`);
  }

  /** The active file's path at time `ms`. */
  at(ms: number): string {
    if (!this.dated) return join(this.dir, this.namePattern);
    const d = new Date(ms);
    let out = '';
    for (let i = 0; i < this.namePattern.length; i++) {
      const c = this.namePattern[i];
      if (c !== '%') {
        out += c;
        continue;
      }
      const k = this.namePattern[++i];
      if (k === '%') out += '%';
      else {
        const dir = DIRECTIVES[k];
        out += String(dir.get(d)).padStart(dir.width, '0');
      }
    }
    return join(this.dir, out);
  }
}

export type RotationInterval = 'hourly' | 'daily' | 'weekly';

/** The first local-time period boundary after `ms` (weeks start on Monday, as in ISO 8601). */
export function nextBoundary(ms: number, interval: RotationInterval): number {
  const d = new Date(ms);
  switch (interval) {
    case 'hourly':
      d.setMinutes(60, 0, 0);
      break;
    case 'daily':
      d.setHours(24, 0, 0, 0);
      break;
    case 'weekly': {
      const daysToMonday = ((8 - d.getDay()) % 7) || 7;
      d.setDate(d.getDate() + daysToMonday);
      d.setHours(0, 0, 0, 0);
      break;
    }
  }
  return d.getTime();
}
