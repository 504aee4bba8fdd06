/**
 * The listener program of a lab namespace: started as
 * `ip netns exec NS node server.js <base64 config> [--attached]`, it opens every
 * TCP and UDP service of the hosts in its namespace, prints "ready" once all
 * are bound, and then serves until SIGTERM (or, with --attached, until its
 * stdin closes, so it dies with the process that started it).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { buildDnsResponse, parseDnsQuery } from './dns.js';
import { parseAddress } from './address.js';
import type { ServerConfig } from './plan.js';
import type { ServiceSpec } from './spec.js';

const IDLE_MS = 10_000;
/**
 * A scanner's burst (or one released at once by the delay line) must not
 * overflow a lab responder: a 208 KiB default buffer holds ~270 small
 * datagrams. The kernel caps this at net.core.rmem_max.
 */
const UDP_RECV_BUFFER = 4 * 1024 * 1024;
/**
 * The lab starts listeners while its links settle: an IPv6 address is not
 * bindable (EADDRNOTAVAIL) until its link has carrier. Retry that, and only that.
 */
const BIND_RETRY_MS = 20;
const BIND_DEADLINE_MS = 15_000;

async function withBindRetry(what: string, attempt: () => Promise<void>): Promise<void> {
  const deadline = performance.now() + BIND_DEADLINE_MS;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || performance.now() > deadline) {
        throw new Error(`${what}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, BIND_RETRY_MS));
    }
  }
}

function die(message: string): never {
  process.stderr.write(`portflow-testnet server: ${message}\n`);
  process.exit(1);
}

function addressBytes(text: string | undefined, family: 4 | 6): Buffer | undefined {
  const a = text === undefined ? undefined : parseAddress(text);
  if (!a || a.family !== family) return undefined;
  const len = family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  let v = a.value;
  for (let i = len - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

function onTcpConnection(service: ServiceSpec, socket: net.Socket): void {
  socket.on('error', () => {}); // scanners reset connections; that is their right
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  if (service.kind === 'banner') {
    socket.write(service.banner, 'latin1');
    socket.on('data', () => {});
  } else if (service.kind === 'request-reply') {
    const reply = service.reply;
    socket.once('data', () => socket.end(reply, 'latin1'));
  }
}

function listenTcp(address: string, service: ServiceSpec): Promise<void> {
  return withBindRetry(`tcp ${address} port ${service.port}`, () => listenTcpOnce(address, service));
}

function listenTcpOnce(address: string, service: ServiceSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => onTcpConnection(service, s));
    server.once('error', (err) => {
      server.close();
      reject(err);
    });
    server.listen({ host: address, port: service.port, backlog: 4096, exclusive: true }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve();
    });
  });
}

function bindUdp(address: string, service: ServiceSpec, v4: Buffer | undefined, v6: Buffer | undefined): Promise<void> {
  return withBindRetry(`udp ${address} port ${service.port}`, () => bindUdpOnce(address, service, v4, v6));
}

function bindUdpOnce(address: string, service: ServiceSpec, v4: Buffer | undefined, v6: Buffer | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: UDP_RECV_BUFFER });
    const reply = service.kind === 'udp-reply' ? Buffer.from(service.reply, 'latin1') : undefined;
    sock.on('message', (msg, rinfo) => {
      if (reply) {
        sock.send(reply, rinfo.port, rinfo.address);
        return;
      }
      const q = parseDnsQuery(msg);
      if (q) sock.send(buildDnsResponse(msg, q, v4, v6), rinfo.port, rinfo.address);
    });
    sock.once('error', (err) => {
      sock.close();
      reject(err);
    });
    sock.bind({ address, port: service.port, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', () => {}); // ICMP errors for replies to vanished clients
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const encoded = process.argv[2];
  if (!encoded) die('usage: server.js <base64 JSON config> [--attached]');
  let config: ServerConfig;
  try {
    config = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as ServerConfig;
  } catch (err) {
    die(`config is not base64 JSON (${(err as Error).message})`);
  }
  if (!config || !Array.isArray(config.hosts)) die('config has no hosts array');
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  if (process.argv.includes('--attached')) {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  const pending: Promise<void>[] = [];
  for (const host of config.hosts) {
    const v4 = addressBytes(host.addresses.find((a: string) => !a.includes(':')), 4);
    const v6 = addressBytes(host.addresses.find((a: string) => a.includes(':')), 6);
    for (const address of host.addresses) {
      for (const s of host.services) pending.push(s.protocol === 'tcp' ? listenTcp(address, s) : bindUdp(address, s, v4, v6));
    }
  }
  try {
    await Promise.all(pending);
  } catch (err) {
    die(`${config.namespace}: ${(err as Error).message}`);
  }
  // The parent may stop reading after "ready" (a CLI lab outlives the CLI).
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.stdout.write('ready\n');
}

void main();
