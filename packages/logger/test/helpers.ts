import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { portFound, type PortFound } from '@portflow/core';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pf-logger-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function port(i: number, scan = 's1', ts = 1_763_900_000_000): PortFound {
  return portFound(scan, ts, `10.0.${(i >> 8) & 255}.${i & 255}`, 1 + (i % 65535), 'tcp', 'open', 'syn-ack', 64);
}

/** Every line of a log file (gunzipped when .gz), without the empty string after the last newline. */
export function fileLines(path: string): string[] {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function parsed(path: string): Record<string, unknown>[] {
  return fileLines(path).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function files(dir: string): string[] {
  return readdirSync(dir).sort();
}

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

export function until(cond: () => boolean, what: string, tries = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (++n > tries) {
        clearInterval(t);
        reject(new Error(`gave up waiting for ${what}`));
      }
    }, 5);
  });
}
