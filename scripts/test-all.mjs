#!/usr/bin/env node
// The whole test suite, as the README's quick start and .ci/run call it:
// unit tests of every package (turbo, two at a time: these machines have two
// cores), then the serial phase (`test:lab`: namespace labs, and the
// benchmark guard's own test, which must not share the cores with other
// tests) one package at a time, then one summary over every vitest run, so
// the output ends with a single vitest-style summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
const REPORTS = ['.vitest-report.json', '.vitest-lab-report.json'];

function packageDirs() {
  const dirs = [join(root, 'native'), join(root, 'benchmarks')];
  for (const name of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', name));
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

// Stale reports from an earlier run must not be counted.
for (const dir of packageDirs()) for (const r of REPORTS) rmSync(join(dir, r), { force: true });

// Tasks that exited non-zero, from turbo's run summaries: CI shows only the end of
// the output, so the summary below names them and repeats the end of their logs.
const failedTasks = [];
function run(phase, args) {
  const started = Date.now();
  const r = spawnSync('pnpm', ['exec', 'turbo', ...args, '--summarize'], { cwd: root, env, stdio: 'inherit' });
  const runs = join(root, '.turbo', 'runs');
  if (existsSync(runs)) {
    for (const f of readdirSync(runs)) {
      const p = join(runs, f);
      if (statSync(p).mtimeMs < started) continue;
      try {
        for (const t of JSON.parse(readFileSync(p, 'utf8')).tasks ?? []) {
          const code = t.execution?.exitCode;
          if (code === undefined || code === 0) continue;
          // Read now: the serial phase re-runs a failed unit task and overwrites its log.
          const log = join(root, t.directory ?? '', '.turbo', `turbo-${t.task}.log`);
          const tail = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-25) : ['(no log)'];
          failedTasks.push({ id: t.taskId, phase, code, tail });
        }
      } catch { /* a summary we cannot read names nothing */ }
    }
  }
  return r.status ?? 1;
}

const unit = run('unit phase', ['run', 'test', '--continue', '--concurrency=2', '--output-logs=new-only']);
// Run the serial phase even after a unit failure: its results are worth having.
const lab = run('serial phase', ['run', 'test:lab', '--continue', '--concurrency=1', '--output-logs=new-only']);

let files = 0, filesFailed = 0, passed = 0, failed = 0, skipped = 0;
const perPackage = [];
for (const dir of packageDirs()) {
  for (const r of REPORTS) {
    const p = join(dir, r);
    if (!existsSync(p)) continue;
    const rep = JSON.parse(readFileSync(p, 'utf8'));
    files += rep.numTotalTestSuites ? rep.testResults.length : 0;
    filesFailed += rep.testResults.filter((t) => t.status === 'failed').length;
    passed += rep.numPassedTests;
    failed += rep.numFailedTests;
    skipped += rep.numPendingTests + (rep.numTodoTests ?? 0);
    perPackage.push(`${dir.slice(root.length)}${r.includes('lab') ? ' (lab)' : ''}: ${rep.numPassedTests} passed, ${rep.numFailedTests} failed, ${rep.numPendingTests} skipped`);
  }
}
console.log('\nportflow test summary');
for (const l of perPackage) console.log(`  ${l}`);
const status = unit !== 0 || lab !== 0 || failed > 0 ? 1 : 0;
for (const t of failedTasks) {
  console.log(`  task ${t.id} exited with ${t.code} in the ${t.phase}; the end of its log:`);
  for (const l of t.tail) console.log(`    | ${l}`);
}
if (status !== 0 && failed === 0) console.log('  a task failed outside vitest (build, native tests or lab setup): see above');
console.log(` Test Files  ${files - filesFailed} passed${filesFailed ? ` | ${filesFailed} failed` : ''} (${files})`);
console.log(`      Tests  ${passed} passed | ${failed} failed | ${skipped} skipped (${passed + failed + skipped})`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
