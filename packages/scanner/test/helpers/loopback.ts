// Loopback fixtures for unit tests (no root): listeners on ports the kernel
// picks, ports known to be closed, and a port whose SYNs are dropped.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { EventBus, type ScanEvent } from '@portflow/core';

export interface Listeners {
  readonly ports: number[];
  close(): Promise<void>;
}

/** `n` listeners on 127.0.0.1 that accept and drop connections. */
export async function listen(n: number): Promise<Listeners> {
  const servers: net.Server[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer((c) => {
      c.on('error', () => {});
      c.destroy();
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  return {
    ports: servers.map((s) => (s.address() as net.AddressInfo).port),
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

/** Ports that were bound a moment ago and released: nothing listens there. */
export async function closedPorts(n: number): Promise<number[]> {
  const l = await listen(n);
  await l.close();
  return l.ports;
}

export interface DroppingPort {
  readonly port: number;
  close(): void;
}

/**
 * A port whose SYNs get no answer: a listener in a child process that never
 * accepts (its thread sleeps), with its accept queue filled by us, so the
 * kernel drops further SYNs — a filtered port on loopback, without root.
 */
export async function droppingPort(): Promise<DroppingPort> {
  const code = `
    const net = require('node:net');
    const s = net.createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      require('node:fs').writeSync(1, s.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(Number(buf.trim()));
    });
    child.on('exit', (c) => reject(new Error(`dropping-port child exited with ${String(c)}`)));
  });
  // Fill the accept queue (backlog 1 holds two connections); the rest hang in SYN_SENT.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const f = net.connect(port, '127.0.0.1');
    f.on('error', () => {});
    fillers.push(f);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close() {
      for (const f of fillers) f.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** A bus recording every event. */
export function recordingBus(): { bus: EventBus; events: ScanEvent[] } {
  const bus = new EventBus({ historySize: 0 });
  const events: ScanEvent[] = [];
  bus.subscribe({ kind: 'all' }, (e) => events.push(e));
  return { bus, events };
}

export function ofType<T extends ScanEvent['type']>(events: readonly ScanEvent[], type: T): Extract<ScanEvent, { type: T }>[] {
  return events.filter((e) => e.type === type) as Extract<ScanEvent, { type: T }>[];
}
