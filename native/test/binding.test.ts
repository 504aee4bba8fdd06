import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ABI_VERSION, DEFAULT_ADDON_PATH, NativeLoadError, classifyLoadError, getBinding, loadBinding } from '../ts/index.js';

describe('loading the addon', () => {
  it('loads the built addon with the expected binding version', () => {
    expect(getBinding().abiVersion).toBe(ABI_VERSION);
  });

  it('a missing binary is a one-line ERR_NATIVE_MISSING that says how to build it', () => {
    const path = join(tmpdir(), 'portflow-no-such-addon.node');
    const err = (() => { try { loadBinding(path); } catch (e) { return e; } })() as NativeLoadError;
    expect(err).toBeInstanceOf(NativeLoadError);
    expect(err.code).toBe('ERR_NATIVE_MISSING');
    expect(err.path).toBe(path);
    expect(err.message).toMatch(/not built: .* is missing; run `pnpm install`/);
    expect(err.message).not.toContain('\n');
  });

  it('a file that is not an addon is ERR_NATIVE_INVALID', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pf-native-'));
    const path = join(dir, 'bogus.node');
    writeFileSync(path, 'not an ELF file');
    const err = (() => { try { loadBinding(path); } catch (e) { return e; } finally { rmSync(dir, { recursive: true, force: true }); } })() as NativeLoadError;
    expect(err.code).toBe('ERR_NATIVE_INVALID');
    expect(err.message).not.toContain('\n');
  });

  it("an addon built for another Node ABI is ERR_NATIVE_ABI naming both versions", () => {
    // The message Node prints for a NODE_MODULE_VERSION mismatch.
    const nodeMsg = `The module '${DEFAULT_ADDON_PATH}'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 108. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using \`npm rebuild\` or \`npm install\`).`;
    const err = classifyLoadError(DEFAULT_ADDON_PATH, new Error(nodeMsg));
    expect(err.code).toBe('ERR_NATIVE_ABI');
    expect(err.message).toContain('NODE_MODULE_VERSION 108');
    expect(err.message).toContain('needs 115');
    expect(err.message).not.toContain('\n');
  });

  it('loads in worker_threads (context-aware) and the worker exits cleanly', async () => {
    const src = `
      const { parentPort } = require('node:worker_threads');
      const b = require(${JSON.stringify(DEFAULT_ADDON_PATH)});
      parentPort.postMessage(b.bench.craftSyn(1000) > 0 && b.abiVersion);
    `;
    for (let i = 0; i < 3; i++) {
      const w = new Worker(src, { eval: true, execArgv: [] });
      // Listen for 'exit' first: a worker that ends right after posting emits both in one tick.
      const exited = new Promise((r) => w.once('exit', r));
      const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      expect(msg).toBe(ABI_VERSION);
      expect(await exited).toBe(0);
    }
  });
});
