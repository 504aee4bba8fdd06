#!/usr/bin/env node
// Builds the addon with node-gyp against the system Node headers (/usr/include/node),
// so nothing is downloaded. `if-needed` (the install and build scripts) configures when
// there is no generated Makefile or binding.gyp is newer than it, and otherwise lets make
// rebuild what changed, so a `pnpm install` in a shared checkout does not wipe a working
// build; `rebuild` configures and builds from scratch.
// Every node-gyp run holds /tmp/portflow-native-build.lock: several engineers (and turbo)
// may build this directory at once, and node-gyp's clean step is not concurrency-safe.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'if-needed';
if (mode !== 'rebuild' && mode !== 'if-needed') {
  console.error(`build-addon: unknown mode "${mode}" (use "rebuild" or "if-needed")`);
  process.exit(2);
}

const require = createRequire(join(pkgDir, 'package.json'));
let nodeGyp;
try {
  nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('build-addon: node-gyp is not installed; run `pnpm install` in the workspace first');
  process.exit(1);
}

const makefile = join(pkgDir, 'build', 'Makefile');
const configured = existsSync(makefile) && statSync(makefile).mtimeMs >= statSync(join(pkgDir, 'binding.gyp')).mtimeMs;
const action = mode === 'rebuild' || !configured ? 'rebuild' : 'build';
const jobs = String(Math.max(1, Math.min(2, (await import('node:os')).availableParallelism())));
const gypArgs = [nodeGyp, action, '--nodedir=/usr', `--jobs=${jobs}`];

const lock = '/tmp/portflow-native-build.lock';
const hasFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
const [cmd, args] = hasFlock ? ['flock', [lock, process.execPath, ...gypArgs]] : [process.execPath, gypArgs];
const r = spawnSync(cmd, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`build-addon: node-gyp ${action} failed (exit ${r.status ?? r.signal}); it needs g++, make, python3 and the Node headers in /usr/include/node`);
  process.exit(r.status ?? 1);
}
