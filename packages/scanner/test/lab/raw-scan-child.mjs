// Runs one raw scan (syn, udp, ping) inside a lab's scanner namespace (started
// with `ip netns exec` by the lab tests): {options, log?, resumeLog?} as JSON on
// stdin; {results, counts, metrics, found, hosts, warnings, rateLimits, wallMs}
// as JSON on stdout. With `log`, every event is appended to that file as one
// JSON line as it is published (write(2) per event: what survives a SIGKILL);
// with `resumeLog`, the scan resumes from the last checkpoint in that file.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { EventBus } from '@portflow/core';
import { scan } from '@portflow/scanner';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { options, log, resumeLog } = JSON.parse(input);
if (resumeLog) {
  const events = readFileSync(resumeLog, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return []; // a line cut by the kill
    }
  });
  options.resumeFrom = events.filter((e) => e.type === 'ScanCheckpoint').at(-1);
  options.resumeEvents = events;
  delete options.seed;
}
const bus = new EventBus({ historySize: 0 });
const fd = log ? openSync(log, 'a') : undefined;
const counts = {};
const metrics = {};
const found = [];
const hosts = [];
const warnings = [];
const rateLimits = [];
bus.subscribe({ kind: 'all' }, (e) => {
  if (fd !== undefined) writeSync(fd, `${JSON.stringify(e)}\n`);
  counts[e.type] = (counts[e.type] ?? 0) + 1;
  if (e.type === 'MetricRecorded') metrics[e.metric] = e.value;
  else if (e.type === 'PortFound' || e.type === 'IPv6PortFound') found.push([e.target, e.port, e.protocol, e.state, e.reason]);
  else if (e.type === 'HostDiscovered') hosts.push([e.ip, e.method, e.latencyMs, e.ttl]);
  else if (e.type === 'WarningIssued') warnings.push([e.code, e.target, e.message]);
  else if (e.type === 'RateLimitTriggered') rateLimits.push([e.currentRate, e.limit]);
});
const t0 = performance.now();
const handle = scan(options, { bus });
const results = await handle.results;
const wallMs = performance.now() - t0;
if (fd !== undefined) closeSync(fd);
process.stdout.write(JSON.stringify({ results, counts, metrics, found, hosts, warnings, rateLimits, wallMs, error: handle.error?.message }));
