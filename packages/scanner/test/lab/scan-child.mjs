// Runs one scan inside a network namespace (Node cannot setns() a thread, so
// lab tests start this with `ip netns exec`): scan options as JSON on stdin,
// {results, counts, metrics, wallMs} as JSON on stdout.
import { EventBus } from '@portflow/core';
import { scan } from '@portflow/scanner';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const options = JSON.parse(input);
const bus = new EventBus({ historySize: 0 });
const counts = {};
const metrics = {};
const found = [];
bus.subscribe({ kind: 'all' }, (e) => {
  counts[e.type] = (counts[e.type] ?? 0) + 1;
  if (e.type === 'MetricRecorded') metrics[e.metric] = e.value;
  else if (e.type === 'PortFound' || e.type === 'IPv6PortFound') found.push([e.target, e.port, e.state, e.reason]);
});
const t0 = performance.now();
const results = await scan(options, { bus }).results;
const wallMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ results, counts, metrics, found, wallMs }));
