import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TestnetError } from './errors.js';
import { labSpec, type LabOverrides } from './labs.js';
import { listNamespaces, processStartTime } from './namespaces.js';
import { planLab, type DelayLineConfig, type LabPlan, type NamespacePlan, type ServerConfig } from './plan.js';
import type { ProbeOptions, ProbeRequest, ProbeResult } from './probe-types.js';
import { removeLab, removeLabSync, writeLabState } from './registry.js';
import { run } from './run.js';
import { resolveLabSpec, type LabSpec, type ResolvedLab } from './spec.js';
import { computeTruth, type LabTruth } from './truth.js';

export interface StartLabOptions extends LabOverrides {
  /**
   * Leave the lab up after this process exits (what `testnet up` does): its
   * listeners detach, and neither exit handlers nor `down --all-stale` remove
   * it; `testnet down` does. Default false: the lab dies with its owner.
   */
  readonly persistent?: boolean;
  /** How long the listeners may take to bind everything (default 20 s). */
  readonly readyTimeoutMs?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ExecOptions {
  readonly input?: string | Buffer;
  /** Kill the command after this long (default 60 s); `code` is then null and `signal` SIGKILL. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Where the built programs live: next to this module in dist/, or in dist/ when running from src/. */
function programPath(name: 'server.js' | 'probe.js' | 'delayline'): string {
  const here = new URL(`./${name}`, import.meta.url);
  const built = import.meta.url.endsWith('.ts') ? new URL(`../dist/${name}`, import.meta.url) : here;
  const path = fileURLToPath(built);
  if (!existsSync(path)) {
    throw new TestnetError('ERR_TESTNET_STATE', `${path} is missing; build the package first (pnpm --filter @portflow/testnet build)`);
  }
  return path;
}

const active = new Set<Lab>();
let seq = 0;
let handlersInstalled = false;

function onExit(): void {
  for (const lab of active) lab.downSync();
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  process.removeListener(signal, onSignal);
  // Die of the signal, as the process would have without us, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

export class Lab {
  /** Unique per run: prefix, owner pid, sequence (e.g. pftn4242-0). */
  readonly id: string;
  readonly name: string;
  readonly spec: LabSpec;
  readonly resolved: ResolvedLab;
  readonly plan: LabPlan;
  readonly persistent: boolean;
  /** The namespace a scanner runs in, its interface and addresses. */
  readonly scanner: { readonly namespace: string; readonly interface: string; readonly ipv4?: string; readonly ipv6?: string };
  readonly router: { readonly namespace: string; readonly onLink4?: string; readonly onLink6?: string; readonly routed4?: string; readonly routed6?: string };
  /** The routed target prefixes (and silent ones) and the live addresses in them. */
  readonly targets: { readonly ipv4?: string; readonly ipv6?: string; readonly silent: readonly string[]; readonly live: readonly string[] };
  /** The scanner's own segment: prefixes and live neighbours (router included), for ARP/NDP discovery. */
  readonly onLink: { readonly ipv4?: string; readonly ipv6?: string; readonly interface: string; readonly live: readonly string[] };
  readonly namespaces: readonly string[];
  /** Milliseconds the lab took to come up. */
  upMs = 0;
  /** Milliseconds per bring-up step, in order (where the time goes). */
  readonly upSteps: Record<string, number> = {};
  private readonly labTruth: LabTruth;
  private readonly servers: ChildProcess[] = [];
  private downed = false;

  constructor(resolved: ResolvedLab, plan: LabPlan, persistent: boolean) {
    this.resolved = resolved;
    this.spec = resolved.spec;
    this.name = resolved.spec.name;
    this.plan = plan;
    this.id = plan.id;
    this.persistent = persistent;
    this.labTruth = computeTruth(resolved);
    const t = plan.topology;
    this.scanner = { namespace: plan.names.scanner, interface: plan.names.ifaces.scanner, ...t.scanner };
    this.router = { namespace: plan.names.router, ...t.router };
    this.targets = {
      ...(resolved.routed4 ? { ipv4: resolved.routed4.text } : {}),
      ...(resolved.routed6 ? { ipv6: resolved.routed6.text } : {}),
      silent: resolved.silent.map((p) => p.text),
      live: this.labTruth.discovery.routed,
    };
    this.onLink = {
      ...(resolved.onLink4 ? { ipv4: resolved.onLink4.text } : {}),
      ...(resolved.onLink6 ? { ipv6: resolved.onLink6.text } : {}),
      interface: plan.names.ifaces.scanner,
      live: this.labTruth.discovery.onLink,
    };
    this.namespaces = plan.namespaces.map((n) => n.name);
  }

  /** Ground truth of this lab, computed from its spec and options. */
  truth(): LabTruth {
    return this.labTruth;
  }

  /** Spawn a process inside the scanner namespace (`ip netns exec`): a scanner, nmap, a node script. */
  spawnInScanner(cmd: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    return this.spawnIn(this.scanner.namespace, cmd, args, options);
  }

  /** Spawn a process inside any of this lab's namespaces. */
  spawnIn(namespace: string, cmd: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    if (!this.namespaces.includes(namespace)) {
      throw new TestnetError('ERR_TESTNET_OPTIONS', `namespace "${namespace}" is not part of lab ${this.id} (${this.namespaces.join(', ')})`);
    }
    if (this.downed) throw new TestnetError('ERR_TESTNET_STATE', `lab ${this.id} is down`);
    return spawn('ip', ['netns', 'exec', namespace, cmd, ...args], options);
  }

  /** Run a command to completion in the scanner namespace and collect its output. */
  exec(cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return this.execIn(this.scanner.namespace, cmd, args, options);
  }

  /** Run `node <script> ...args` in the scanner namespace with this Node binary. */
  runInScannerNs(script: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(process.execPath, [script, ...args], options);
  }

  execIn(namespace: string, cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawnIn(namespace, cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new TestnetError('ERR_TESTNET_COMMAND', `ip netns exec ${namespace} ${cmd}: ${e.message}`, { cause: e }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal });
      });
      child.stdin!.on('error', () => {});
      child.stdin!.end(options.input ?? '');
    });
  }

  /** Plain-socket checks from the scanner namespace (connect, UDP send/receive), one result per request. */
  async probe(probes: readonly ProbeRequest[], options: ProbeOptions = {}): Promise<ProbeResult[]> {
    const r = await this.runInScannerNs(programPath('probe.js'), [], { input: JSON.stringify({ probes, options }), timeoutMs: 600_000 });
    if (r.code !== 0) throw new TestnetError('ERR_TESTNET_COMMAND', `probe in ${this.scanner.namespace} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as ProbeResult[];
  }

  /** Tear the lab down: processes inside first, then the namespaces. Safe to call twice. */
  async down(): Promise<void> {
    if (this.downed) return;
    this.downed = true;
    active.delete(this);
    for (const s of this.servers) s.kill('SIGTERM');
    await removeLab(this.id, this.namespaces);
  }

  /** @internal synchronous teardown for exit and signal handlers. */
  downSync(): void {
    if (this.downed || this.persistent) return;
    this.downed = true;
    active.delete(this);
    for (const s of this.servers) s.kill('SIGTERM');
    try {
      removeLabSync(this.id, this.namespaces);
    } catch (err) {
      process.stderr.write(`portflow-testnet: teardown of ${this.id} failed: ${(err as Error).message}; run \`pnpm testnet down --all-stale\`\n`);
    }
  }

  /** @internal */
  async bringUp(readyTimeoutMs: number): Promise<void> {
    const plan = this.plan;
    let mark = performance.now();
    const step = (name: string): void => {
      const now = performance.now();
      this.upSteps[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
    };
    await run('ip', ['-batch', '-'], { input: plan.namespaces.map((n) => `netns add ${n.name}\n`).join('') });
    step('namespaces');
    await Promise.all(plan.namespaces.map((n) => this.applySysctls(n)));
    step('sysctls');
    await run('ip', ['-batch', '-'], { input: plan.veths.map((l) => `${l}\n`).join('') });
    step('veths');
    const configure = async (n: NamespacePlan): Promise<void> => {
      await run('ip', ['-n', n.name, '-batch', '-'], { input: n.ip.map((l) => `${l}\n`).join('') });
      if (n.ip6.length) await run('ip', ['-6', '-n', n.name, '-batch', '-'], { input: n.ip6.map((l) => `${l}\n`).join('') });
    };
    // The router's veth ends go up first. A veth whose peer comes up while it
    // is itself still down queues its carrier change as a non-urgent link
    // watch event (up to a second); up in this order, every change is urgent.
    await Promise.all(plan.namespaces.filter((n) => n.role === 'router').map(configure));
    await Promise.all(plan.namespaces.filter((n) => n.role !== 'router').map(configure));
    step('addresses');
    // The delay line's tun has no carrier until the program attaches: start it before waiting for links.
    await Promise.all(plan.namespaces.filter((n) => n.delayLine).map((n) => this.startDelayLine(n.name, n.delayLine!, readyTimeoutMs)));
    step('delayLine');
    await Promise.all(
      plan.namespaces.map(async (n) => {
        if (n.nft) await run('ip', ['netns', 'exec', n.name, 'nft', '-f', '-'], { input: n.nft });
        if (n.tc.length) await run('tc', ['-n', n.name, '-batch', '-'], { input: n.tc.map((l) => `${l}\n`).join('') });
      }),
    );
    step('nftTc');
    // Listeners start while the links settle (Node takes a few hundred ms to
    // start); they retry a bind that fails because an address is not usable yet.
    const server = programPath('server.js');
    const listeners = Promise.all(plan.namespaces.filter((n) => n.server).map((n) => this.startServer(server, n.server!, readyTimeoutMs)));
    listeners.catch(() => {}); // awaited below; a link failure must not leave it unhandled
    await this.waitForLinks(readyTimeoutMs);
    step('linksReady');
    await listeners;
    step('listeners');
  }

  /**
   * Wait until every interface that carries addresses is up and no IPv6
   * address is tentative (an address on a link without carrier stays
   * tentative even with nodad, and is neither answered for nor bindable).
   * Bridges are skipped: they carry no address, and get their carrier only
   * through the kernel's link watch, up to a second later.
   */
  private async waitForLinks(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let pending = this.plan.namespaces.map((n) => n.name);
    const skip = new Set(['lo', ...this.plan.namespaces.flatMap((n) => n.layer2Only)]);
    for (;;) {
      const states = await Promise.all(
        pending.map(async (ns) => {
          const [links, tentative] = await Promise.all([run('ip', ['-n', ns, '-o', 'link', 'show']), run('ip', ['-n', ns, '-o', '-6', 'addr', 'show', 'tentative'])]);
          const down = links.split('\n').filter((l) => l.trim() !== '' && !skip.has(/^\d+: ([^:@]+)/.exec(l)?.[1] ?? '') && !/ state UP /.test(l));
          return { ns, ready: down.length === 0 && tentative.trim() === '', detail: [...down, tentative.trim()].filter(Boolean).join(' | ') };
        }),
      );
      const waiting = states.filter((s) => !s.ready);
      if (waiting.length === 0) return;
      if (performance.now() > deadline) {
        throw new TestnetError('ERR_TESTNET_STATE', `lab ${this.id}: links not ready after ${timeoutMs} ms in ${waiting.map((w) => `${w.ns} (${w.detail.slice(0, 200)})`).join(', ')}`);
      }
      pending = waiting.map((w) => w.ns);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async applySysctls(n: NamespacePlan): Promise<void> {
    const args = Object.entries(n.sysctls).map(([k, v]) => `${k}=${v}`);
    await run('ip', ['netns', 'exec', n.name, 'sysctl', '-q', '-w', ...args]);
    const optional = Object.entries(n.optionalSysctls).map(([k, v]) => `${k}=${v}`);
    if (optional.length) await run('ip', ['netns', 'exec', n.name, 'sysctl', '-q', '-e', '-w', ...optional]);
  }

  private startServer(script: string, config: ServerConfig, timeoutMs: number): Promise<void> {
    const encoded = Buffer.from(JSON.stringify(config)).toString('base64');
    return this.startProgram(config.namespace, 'listeners', [process.execPath, script, encoded], timeoutMs);
  }

  private startDelayLine(namespace: string, config: DelayLineConfig, timeoutMs: number): Promise<void> {
    return this.startProgram(namespace, 'delay line', [programPath('delayline'), config.tun, String(config.ms), String(config.queuePackets)], timeoutMs);
  }

  /** Start a program in a namespace and wait for its "ready" line. */
  private startProgram(namespace: string, what: string, command: readonly string[], timeoutMs: number): Promise<void> {
    // Attached programs read stdin and exit when it closes, so they die with
    // this process even on SIGKILL; persistent ones detach and live on.
    const args = ['netns', 'exec', namespace, ...command, ...(this.persistent ? [] : ['--attached'])];
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: this.persistent });
    this.servers.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new TestnetError('ERR_TESTNET_SERVER', `${what} in ${namespace} ${why}${err ? `: ${err.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail(`did not report ready within ${timeoutMs} ms`), timeoutMs);
      child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (!out.includes('ready\n')) return;
        clearTimeout(timer);
        if (this.persistent) {
          child.stdin!.destroy();
          child.stdout!.destroy();
          child.stderr!.destroy();
          child.unref();
        }
        resolve();
      });
      child.on('error', (e) => fail(`could not start (${e.message})`));
      child.on('exit', (code, signal) => { if (!out.includes('ready\n')) fail(`exited (${signal ?? `code ${code}`}) before ready`); });
      child.stdin!.on('error', () => {});
    });
  }
}

function nextSeq(): number {
  const taken = new Set(listNamespaces());
  // A stale lab of an earlier process with our pid would collide: skip its sequence numbers.
  for (;;) {
    const s = seq++;
    const prefix = `pftn${process.pid}-${s}-`;
    if (![...taken].some((n) => n.startsWith(prefix))) return s;
  }
}

/**
 * Bring a lab up: a named lab (`standard`, `ipv6`, `onlink`, `silent-range`,
 * `unreachable`) with per-run overrides, or a LabSpec of your own. Needs root.
 * The lab is torn down by `down()`, and also on exit, SIGINT and SIGTERM.
 */
export async function startLab(lab: string | LabSpec, options: StartLabOptions = {}): Promise<Lab> {
  const known = new Set(['icmp', 'nonLive', 'loss', 'rate', 'delay', 'persistent', 'readyTimeoutMs']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TestnetError('ERR_TESTNET_OPTIONS', `unknown startLab option "${key}"; the options are: ${[...known].join(', ')}`);
  }
  const { persistent = false, readyTimeoutMs = 20_000, ...given } = options;
  if (typeof persistent !== 'boolean') throw new TestnetError('ERR_TESTNET_OPTIONS', `startLab option persistent must be true or false (got ${String(persistent)})`);
  if (!Number.isInteger(readyTimeoutMs) || readyTimeoutMs < 1) throw new TestnetError('ERR_TESTNET_OPTIONS', `startLab option readyTimeoutMs must be a positive integer (got ${String(readyTimeoutMs)})`);
  // An option given as undefined means "the lab's own", not "none".
  const overrides = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as LabOverrides;
  const spec = typeof lab === 'string' ? labSpec(lab, overrides) : { ...lab, ...overrides };
  const resolved = resolveLabSpec(spec);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new TestnetError('ERR_TESTNET_NOT_ROOT', `lab "${resolved.spec.name}" needs root (network namespaces, veths, nftables); run as root or skip lab tests`);
  }
  const plan = planLab(resolved, process.pid, nextSeq());
  const instance = new Lab(resolved, plan, persistent);
  const started = performance.now();
  writeLabState({
    id: plan.id,
    lab: resolved.spec.name,
    overrides: typeof lab === 'string' ? overrides : {},
    spec: resolved.spec,
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid),
    persistent: false, // until it is fully up: a run killed half-way leaves a stale lab
    createdAt: new Date().toISOString(),
    namespaces: instance.namespaces,
  });
  installHandlers();
  active.add(instance);
  try {
    await instance.bringUp(readyTimeoutMs);
  } catch (err) {
    await instance.down().catch(() => {});
    throw err;
  }
  if (persistent) {
    active.delete(instance);
    writeLabState({
      id: plan.id,
      lab: resolved.spec.name,
      overrides: typeof lab === 'string' ? overrides : {},
    spec: resolved.spec,
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid),
      persistent: true,
      createdAt: new Date().toISOString(),
      namespaces: instance.namespaces,
    });
  }
  instance.upMs = performance.now() - started;
  return instance;
}
