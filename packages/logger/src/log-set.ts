import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LogPath } from './path-pattern.js';

/** A file of a log set: the live name, a rotation `.N`, or the `.gz` of either. */
export interface SetMember {
  readonly path: string;
  /** The path without `.N` and `.gz`: the live name it was rotated from. */
  readonly base: string;
  /** 0 for an unnumbered name; `.1` is the newest rotation. */
  readonly idx: number;
  readonly gz: boolean;
  readonly mtimeMs: number;
}

/** `base`, `base.N`, each optionally `.gz`. */
export function memberPath(base: string, idx: number, gz: boolean): string {
  return `${base}${idx === 0 ? '' : `.${idx}`}${gz ? '.gz' : ''}`;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Every file of the set, newest first (by modification time, then `.1` before `.2`). */
export function listSet(logPath: LogPath): SetMember[] {
  const out: SetMember[] = [];
  for (const name of safeReaddir(logPath.dir)) {
    const m = logPath.setRegex.exec(name);
    if (m === null) continue;
    const path = join(logPath.dir, name);
    const gz = name.endsWith('.gz');
    const idx = m[1] === undefined ? 0 : Number(m[1]);
    let base = gz ? path.slice(0, -3) : path;
    if (idx !== 0) base = base.slice(0, base.length - m[1].length - 1);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      continue; // removed meanwhile
    }
    out.push({ path, base, idx, gz, mtimeMs });
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs || a.idx - b.idx);
}

const SUFFIX = /^\.(\d+)((?:\.gz)?(?:\.tmp)?)$/;

/**
 * Numbered rotation: `base.N[.gz[.tmp]]` becomes `.N+1` (or is deleted beyond
 * `maxFiles`), then `base` becomes `base.1`. Highest first, so no rename
 * overwrites a file that has not moved yet.
 */
export function shiftNumbered(base: string, maxFiles: number): void {
  const dir = dirname(base), name = basename(base);
  const found: { idx: number; rest: string }[] = [];
  for (const f of safeReaddir(dir)) {
    if (!f.startsWith(`${name}.`)) continue;
    const m = SUFFIX.exec(f.slice(name.length));
    if (m !== null) found.push({ idx: Number(m[1]), rest: m[2] });
  }
  found.sort((a, b) => b.idx - a.idx);
  for (const { idx, rest } of found) {
    const from = `${base}.${idx}${rest}`;
    if (idx + 1 > maxFiles) unlinkQuiet(from);
    else renameSync(from, `${base}.${idx + 1}${rest}`);
  }
  if (maxFiles >= 1) renameSync(base, `${base}.1`);
  else unlinkQuiet(base);
}

export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** fsync a directory so a rename in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Finish what a crash interrupted: a `.gz.tmp` is an unfinished compression
 * (its source is intact) and is deleted; a file next to its `.gz` was
 * compressed but not yet unlinked, and the `.gz` (renamed into place only
 * when complete) wins. Returns rotated files still to compress.
 */
export function recoverSet(logPath: LogPath, activePath: string): string[] {
  for (const name of safeReaddir(logPath.dir)) {
    if (name.endsWith('.gz.tmp') && logPath.setRegex.test(name.slice(0, -4))) unlinkQuiet(join(logPath.dir, name));
  }
  const todo: string[] = [];
  for (const m of listSet(logPath)) {
    if (m.gz || m.path === activePath) continue;
    if (existsSync(`${m.path}.gz`)) {
      unlinkQuiet(m.path);
      continue;
    }
    if (existsSync(`${m.path}.lock`)) continue; // another writer's live file
    todo.push(m.path);
  }
  return todo;
}
