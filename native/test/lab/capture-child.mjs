// Runs a Capture (through the addon's test-only `captureTest` binding) inside a network
// namespace, for capture.lab.test.ts: `ip netns exec <ns> node capture-child.mjs '<options json>'`.
// Prints one JSON line per event on stdout: {ready}, {counters}, and on "stop" the result
// (join time, counters, records as base64, answered probes); exits after that.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const addon = require(fileURLToPath(new URL('../../build/Release/portflow_native.node', import.meta.url)));
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

let cap;
try {
  cap = new addon.captureTest.Capture(JSON.parse(process.argv[2]));
  cap.start();
} catch (err) {
  say({ error: err.message, code: err.code });
  process.exit(1);
}
say({ ready: true });
// Bounded: the parent always sends "stop"; if it dies, stdin closes and we stop too.
const rl = createInterface({ input: process.stdin });
const finish = () => {
  const joinMs = cap.stop();
  say({ joinMs, counters: cap.counters(), records: cap.records().toString('base64'), answered: cap.answered() });
  process.exit(0);
};
rl.on('line', (line) => {
  if (line === 'counters') say({ counters: cap.counters() });
  else if (line === 'stop') finish();
});
rl.on('close', finish);
