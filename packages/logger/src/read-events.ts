import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { compileFilter, isLogMeta, parseLine, type EventFilter, type ScanEvent } from '@portflow/core';
import { LogNotFoundError } from './errors.js';
import { expandHome } from './path-pattern.js';

export type ReadWarningCode = 'MALFORMED_LINE' | 'UNTERMINATED' | 'NO_HEADER' | 'CORRUPT_FILE';

export interface ReadWarning {
  readonly code: ReadWarningCode;
  readonly file: string;
  /** 1-based line number, when the warning is about a line. */
  readonly line: number | undefined;
  readonly message: string;
}

export interface ReadEventsOptions {
  /** Yield only matching events. */
  readonly filter?: EventFilter;
  /** Called for each warning as it happens (they are also counted in `stats`). */
  readonly onWarning?: (warning: ReadWarning) => void;
}

export interface ReadStats {
  /** Files read, in reading order. */
  files: string[];
  /** Events yielded. */
  events: number;
  /** Events skipped because another file already had their (bus id, seq). */
  duplicates: number;
  /** Lines that are not valid wire-format lines (a truncated last line after a crash is one). */
  malformed: number;
  /** Files whose last session has no log_ended line (the writer did not close it). */
  unterminated: string[];
  /** The first 1,000 warnings. */
  warnings: ReadWarning[];
}

const MAX_KEPT_WARNINGS = 1000;
const ROTATED = /^(.*?)(?:\.(\d+))?(\.gz)?$/;

interface Source {
  path: string;
  gz: boolean;
  idx: number;
  headerTime: number;
}

function globRegex(glob: string): RegExp {
  let re = '';
  for (const c of glob) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isLogFileName(name: string): boolean {
  return !name.endsWith('.tmp') && !name.endsWith('.lock');
}

/** The files a path or glob names: a live file brings its whole rotated set. */
export function resolveLogFiles(pathOrGlob: string): string[] {
  const abs = expandHome(pathOrGlob);
  const dir = dirname(abs), name = basename(abs);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  let picked: string[];
  if (/[*?]/.test(name)) {
    const re = globRegex(name);
    picked = names.filter((n) => re.test(n) && isLogFileName(n));
  } else if (/\.\d+(\.gz)?$/.test(name) || name.endsWith('.gz')) {
    picked = existsSync(abs) ? [name] : [];
  } else {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp(`^${escaped}(?:\\.\\d+)?(?:\\.gz)?$`);
    picked = names.filter((n) => re.test(n));
  }
  const set = new Set(picked);
  // A crash between "rename .gz.tmp to .gz" and "unlink the original" leaves both: read the .gz only.
  const files = picked.filter((n) => !(set.has(`${n}.gz`)));
  return files
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
}

function openText(path: string, gz: boolean): NodeJS.ReadableStream {
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  if (!gz) return raw;
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Lines of a file, streamed; the last one may lack its newline (yielded with `partial`). */
async function* lines(path: string, gz: boolean): AsyncGenerator<{ text: string; partial: boolean }> {
  const dec = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of openText(path, gz)) {
    const s = rest + dec.write(chunk as Buffer);
    let start = 0;
    for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', start)) {
      yield { text: s.slice(start, i), partial: false };
      start = i + 1;
    }
    rest = s.slice(start);
  }
  rest += dec.end();
  if (rest.length !== 0) yield { text: rest, partial: true };
}

async function headerTime(path: string, gz: boolean): Promise<number> {
  try {
    for await (const l of lines(path, gz)) {
      const line = parseLine(l.text);
      return isLogMeta(line) && line.event === 'log_started' ? line.timestamp : NaN;
    }
  } catch {
    // Unreadable or malformed first line: ordered by modification time, warned about when read.
  }
  return NaN;
}

/**
 * Events of JSON Lines logs (`.jsonl`, `.jsonl.gz`, whole rotated sets),
 * streamed. Files are read oldest first by their log_started time (`.2`
 * before `.1` before the live file); an event seen in an earlier file with
 * the same (bus id, seq) is skipped. Malformed lines are skipped and
 * counted with their line numbers. Stats are complete when iteration ends.
 */
export class EventReader implements AsyncIterable<ScanEvent> {
  readonly stats: ReadStats = { files: [], events: 0, duplicates: 0, malformed: 0, unterminated: [], warnings: [] };
  readonly #pattern: string;
  readonly #test: ((e: ScanEvent) => boolean) | undefined;
  readonly #onWarning: ((w: ReadWarning) => void) | undefined;

  constructor(pathOrGlob: string, options: ReadEventsOptions = {}) {
    this.#pattern = pathOrGlob;
    this.#test = options.filter === undefined ? undefined : compileFilter(options.filter).test;
    this.#onWarning = options.onWarning;
  }

  #warn(code: ReadWarningCode, file: string, line: number | undefined, message: string): void {
    const w: ReadWarning = { code, file, line, message };
    if (this.stats.warnings.length < MAX_KEPT_WARNINGS) this.stats.warnings.push(w);
    this.#onWarning?.(w);
  }

  async #sources(): Promise<Source[]> {
    const files = resolveLogFiles(this.#pattern);
    if (files.length === 0) throw new LogNotFoundError(this.#pattern);
    const out: Source[] = [];
    for (const path of files) {
      const m = ROTATED.exec(basename(path)) as RegExpExecArray;
      const gz = m[3] !== undefined;
      let t = await headerTime(path, gz);
      if (Number.isNaN(t)) t = statSync(path).mtimeMs;
      out.push({ path, gz, idx: m[2] === undefined ? 0 : Number(m[2]), headerTime: t });
    }
    // `.2` is older than `.1`, which is older than the live file: that breaks ties in header time.
    return out.sort((a, b) => a.headerTime - b.headerTime || b.idx - a.idx || a.path.localeCompare(b.path));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ScanEvent> {
    const lastSeq = new Map<string, number>();
    for (const src of await this.#sources()) {
      this.stats.files.push(src.path);
      let bus = '';
      let max = lastSeq.get(bus) ?? 0;
      let n = 0;
      let open = false; // inside a session (after log_started, before log_ended)
      let sawHeader = false;
      try {
        for await (const { text, partial } of lines(src.path, src.gz)) {
          n++;
          if (text.length === 0) continue;
          let line;
          try {
            line = parseLine(text);
          } catch (e) {
            this.stats.malformed++;
            this.#warn('MALFORMED_LINE', src.path, n, `${src.path}:${n}: ${partial ? 'truncated last line (the writer was killed mid-write)' : (e as Error).message}; skipped`);
            continue;
          }
          if (isLogMeta(line)) {
            if (line.event === 'log_started') {
              if (open) this.#warn('UNTERMINATED', src.path, n, `${src.path}:${n}: a new session starts without a log_ended for the previous one (its writer died)`);
              lastSeq.set(bus, max);
              bus = line.busId;
              max = lastSeq.get(bus) ?? 0;
              open = true;
              sawHeader = true;
            } else if (line.event === 'log_ended') open = false;
            continue;
          }
          if (!sawHeader) {
            sawHeader = true;
            this.#warn('NO_HEADER', src.path, n, `${src.path}: events before any log_started line; duplicates cannot be told apart by bus`);
          }
          if (line.seq <= max) {
            this.stats.duplicates++;
            continue;
          }
          max = line.seq;
          if (this.#test !== undefined && !this.#test(line)) continue;
          this.stats.events++;
          yield line;
        }
      } catch (e) {
        this.#warn('CORRUPT_FILE', src.path, n === 0 ? undefined : n, `${src.path}: cannot read past line ${n}: ${(e as Error).message}; skipped the rest`);
      }
      lastSeq.set(bus, max);
      if (open) {
        this.stats.unterminated.push(src.path);
        this.#warn('UNTERMINATED', src.path, undefined, `${src.path}: no log_ended line: the writer did not close it (still running, or killed)`);
      }
    }
  }
}

export function readEvents(pathOrGlob: string, options: ReadEventsOptions = {}): EventReader {
  return new EventReader(pathOrGlob, options);
}
