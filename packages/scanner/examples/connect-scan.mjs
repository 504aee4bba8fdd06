// A connect scan of 127.0.0.1 ports 1-1024, printing ports as they are found
// and the compact results at the end. Run (after a build):
//   node packages/scanner/examples/connect-scan.mjs
import { EventBus } from '@portflow/core';
import { scan } from '@portflow/scanner';

const bus = new EventBus();
bus.on('PortFound', (e) => console.log(`${e.target}:${e.port}/${e.protocol} ${e.state} (${e.reason})`));
const handle = scan({ targets: '127.0.0.1', ports: '1-1024' }, { bus }); // type 'connect': no privileges
const r = await handle.results; // resolves after ScanCompleted, whatever the outcome
for (const h of r.hosts) console.log(h.address, JSON.stringify(h.defaultState), h.ports.map((p) => `${p.port} ${p.state}`));
console.log(`${r.openPorts} open, ${r.outcome} in ${r.durationMs} ms`);
