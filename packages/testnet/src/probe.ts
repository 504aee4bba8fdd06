/**
 * Plain-socket checks, run inside the scanner namespace as
 * `ip netns exec NS node probe.js` with a JSON { probes, options } on stdin;
 * writes one JSON array of ProbeResult to stdout. This is the "connect and
 * see" ground check that a lab matches its truth, independent of any scanner.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildDnsQuery, TYPE_A } from './dns.js';
import type { ProbeOptions, ProbeOutcome, ProbeRequest, ProbeResult } from './probe-types.js';

const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EPERM', 'EPROTO']);

function classify(code: string | undefined): ProbeOutcome {
  if (code === 'ECONNREFUSED') return 'refused';
  if (code !== undefined && UNREACHABLE.has(code)) return 'unreachable';
  return 'error';
}

function probeTcp(req: ProbeRequest, timeoutMs: number, readMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let banner = '';
    let reply = '';
    let phase: 'connect' | 'banner' | 'reply' = 'connect';
    let rttMs: number | undefined;
    const started = performance.now();
    const socket = net.connect({ host: req.address, port: req.port });
    const finish = (r: Omit<ProbeResult, keyof ProbeRequest>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...req, ...r });
    };
    const connected = (): void => finish({ outcome: 'connected', ...(rttMs !== undefined ? { rttMs } : {}), ...(banner ? { banner } : {}), ...(reply ? { reply } : {}) });
    let timer = setTimeout(() => finish({ outcome: 'timeout' }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (phase === 'connect') finish({ outcome: classify(err.code), rttMs: performance.now() - started, ...(err.code ? { code: err.code } : {}) });
      else connected();
    });
    socket.on('data', (d: Buffer) => {
      if (phase === 'banner') banner += d.toString('latin1');
      else reply += d.toString('latin1');
    });
    socket.on('end', () => { if (phase !== 'connect') connected(); });
    socket.on('connect', () => {
      rttMs = performance.now() - started;
      phase = 'banner';
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (banner) { connected(); return; }
        // Silent until spoken to: say something and wait for the answer.
        phase = 'reply';
        socket.write('portflow-testnet probe\r\n\r\n');
        clearTimeout(timer);
        timer = setTimeout(connected, readMs);
      }, readMs);
    });
  });
}

function probeUdp(req: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let sent = 0;
    const sock = dgram.createSocket(req.address.includes(':') ? 'udp6' : 'udp4');
    const finish = (r: Omit<ProbeResult, keyof ProbeRequest>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve({ ...req, ...r });
    };
    const timer = setTimeout(() => finish({ outcome: 'timeout' }), timeoutMs);
    // A connected UDP socket gets ICMP errors back as ECONNREFUSED & co.
    sock.on('error', (err: NodeJS.ErrnoException) => finish({ outcome: classify(err.code), rttMs: performance.now() - sent, ...(err.code ? { code: err.code } : {}) }));
    sock.on('message', (msg) => finish({ outcome: 'reply', rttMs: performance.now() - sent, reply: msg.toString('latin1') }));
    sock.connect(req.port, req.address, () => {
      const payload =
        req.payload === 'dns' ? buildDnsQuery(0x7074, 'lab.portflow.test', TYPE_A) : req.payload === 'text' ? Buffer.from('portflow-testnet probe\n') : Buffer.alloc(0);
      sent = performance.now();
      sock.send(payload);
    });
  });
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  let input: { probes: ProbeRequest[]; options?: ProbeOptions };
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof input;
  } catch (err) {
    process.stderr.write(`portflow-testnet probe: stdin is not JSON (${(err as Error).message})\n`);
    process.exit(2);
  }
  const timeoutMs = input.options?.timeoutMs ?? 1000;
  const readMs = input.options?.readMs ?? 300;
  const concurrency = input.options?.concurrency ?? 256;
  const results: ProbeResult[] = new Array(input.probes.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < input.probes.length) {
      const i = next++;
      const req = input.probes[i];
      results[i] = req.protocol === 'tcp' ? await probeTcp(req, timeoutMs, readMs) : await probeUdp(req, timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, input.probes.length) }, worker));
  process.stdout.write(JSON.stringify(results));
}

void main();
