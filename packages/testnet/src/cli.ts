#!/usr/bin/env node
/**
 * pnpm testnet up [--lab NAME] [--icmp lifted|default] [--loss PCT[:DIR]] [--rate KBIT[:DIR]] [--delay MS[:DIR]] [--non-live drop|host-unreachable]
 * pnpm testnet down [ID] [--all-stale]
 * pnpm testnet status [--json]
 * pnpm testnet truth [--lab NAME | --id ID] [--json | --expand] [--icmp ...]
 * pnpm testnet labs
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { TestnetError } from './errors.js';
import { labNames, labSpec, type LabOverrides } from './labs.js';
import { startLab } from './lab.js';
import { labStatuses, removeLab, removeStaleLabs } from './registry.js';
import { resolveLabSpec, type DelayFault, type IcmpMode, type LabSpec, type LossFault, type RateFault } from './spec.js';
import { computeTruth } from './truth.js';

const USAGE = `usage: testnet <command>
  up [--lab NAME] [--icmp lifted|default] [--loss PCT[:both|to-targets|from-targets]]
     [--rate KBIT[:both|to-targets|from-targets]] [--delay MS[:both|to-targets|from-targets]]
     [--non-live drop|host-unreachable]
                      bring a lab up and leave it up (default lab: standard)
  down [ID]           remove the lab(s) left up by \`up\` (or the one named)
  down --all-stale    remove only what killed runs left behind
  status [--json]     list the labs on this machine
  truth [--lab NAME | --id ID] [--json | --expand] [--icmp ...]
                      ground truth of a lab (default: the lab that is up, else standard);
                      --expand: one JSON line per live address x scan port x protocol
  exec [--id ID] -- CMD [ARGS...]
                      run a command in the scanner namespace of the lab that is up
  labs                list the named labs`;

class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;

function direction(text: string | undefined, flag: string): LossFault['direction'] {
  const d = text ?? 'both';
  if (d !== 'both' && d !== 'to-targets' && d !== 'from-targets') throw new UsageError(`${flag}: direction "${d}" must be both, to-targets or from-targets`);
  return d;
}

function overridesFrom(v: Values): LabOverrides {
  const o: { icmp?: IcmpMode; loss?: LossFault; rate?: RateFault; delay?: DelayFault; nonLive?: LabSpec['nonLive'] } = {};
  if (typeof v.icmp === 'string') {
    if (v.icmp !== 'lifted' && v.icmp !== 'default') throw new UsageError(`--icmp "${v.icmp}" must be lifted or default`);
    o.icmp = v.icmp;
  }
  if (typeof v.loss === 'string') {
    const [pct, dir] = v.loss.split(':');
    o.loss = { percent: Number(pct), direction: direction(dir, '--loss') };
  }
  if (typeof v.rate === 'string') {
    const [kbit, dir] = v.rate.split(':');
    o.rate = { kbit: Number(kbit), direction: direction(dir, '--rate') };
  }
  if (typeof v.delay === 'string') {
    const [ms, dir] = v.delay.split(':');
    o.delay = { ms: Number(ms), direction: direction(dir, '--delay') };
  }
  if (typeof v['non-live'] === 'string') {
    const n = v['non-live'];
    if (n !== 'drop' && n !== 'host-unreachable') throw new UsageError(`--non-live "${n}" must be drop or host-unreachable`);
    o.nonLive = n;
  }
  return o;
}

function persistentLabs() {
  return labStatuses().filter((l) => l.status === 'persistent');
}

function pickLab(id: string | undefined) {
  const labs = persistentLabs();
  if (id !== undefined) {
    const l = labStatuses().find((x) => x.id === id);
    if (!l) throw new TestnetError('ERR_TESTNET_STATE', `no lab with id "${id}"; see \`testnet status\``);
    return l;
  }
  if (labs.length === 0) return undefined;
  if (labs.length > 1) throw new UsageError(`${labs.length} labs are up (${labs.map((l) => l.id).join(', ')}); pick one with --id`);
  return labs[0];
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const dashdash = rest.indexOf('--');
  const own = dashdash < 0 ? rest : rest.slice(0, dashdash);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      lab: { type: 'string' },
      id: { type: 'string' },
      icmp: { type: 'string' },
      loss: { type: 'string' },
      rate: { type: 'string' },
      delay: { type: 'string' },
      'non-live': { type: 'string' },
      'all-stale': { type: 'boolean' },
      json: { type: 'boolean' },
      expand: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'labs': {
      for (const name of labNames()) process.stdout.write(`${name.padEnd(14)} ${labSpec(name).description}\n`);
      return 0;
    }
    case 'up': {
      const lab = await startLab(values.lab ?? 'standard', { ...overridesFrom(values), persistent: true });
      const t = lab.truth();
      const out = {
        id: lab.id,
        lab: lab.name,
        upMs: Math.round(lab.upMs),
        upSteps: lab.upSteps,
        scanner: lab.scanner,
        targets: lab.targets,
        onLink: lab.onLink,
        openPorts: t.openPorts().length,
        namespaces: lab.namespaces,
      };
      if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      else {
        process.stdout.write(
          [
            `lab ${lab.name} is up as ${lab.id} in ${out.upMs} ms`,
            `  scanner:  namespace ${lab.scanner.namespace}, interface ${lab.scanner.interface}, ${[lab.scanner.ipv4, lab.scanner.ipv6].filter(Boolean).join(', ')}`,
            `  targets:  ${[lab.targets.ipv4, lab.targets.ipv6, ...lab.targets.silent].filter(Boolean).join(', ')} (${lab.targets.live.length} live addresses, ${out.openPorts} open ports)`,
            `  on-link:  ${[lab.onLink.ipv4, lab.onLink.ipv6].filter(Boolean).join(', ')} (${lab.onLink.live.length} live addresses)`,
            `  run:      ip netns exec ${lab.scanner.namespace} <command>   (or: pnpm testnet exec -- <command>)`,
            `  truth:    pnpm testnet truth --json`,
            `  remove:   pnpm testnet down`,
            '',
          ].join('\n'),
        );
      }
      return 0;
    }
    case 'down': {
      if (values['all-stale']) {
        const removed = await removeStaleLabs();
        process.stdout.write(removed.length ? `removed stale labs: ${removed.join(', ')}\n` : 'no stale labs\n');
        return 0;
      }
      const id = positionals[0] ?? values.id;
      const targets = id !== undefined ? [pickLab(id)!] : persistentLabs();
      if (targets.length === 0) {
        process.stdout.write('no lab is up (labs of running tests are theirs to remove; stale ones: down --all-stale)\n');
        return 0;
      }
      for (const l of targets) {
        const started = performance.now();
        await removeLab(l.id, l.namespaces);
        process.stdout.write(`removed ${l.id} (${l.state?.lab ?? 'unknown lab'}) in ${Math.round(performance.now() - started)} ms\n`);
      }
      return 0;
    }
    case 'status': {
      const labs = labStatuses();
      if (values.json) {
        process.stdout.write(`${JSON.stringify(labs.map((l) => ({ id: l.id, lab: l.state?.lab, status: l.status, ownerPid: l.state?.ownerPid, namespaces: l.namespaces, processes: l.processes, createdAt: l.state?.createdAt })), null, 2)}\n`);
        return 0;
      }
      if (labs.length === 0) process.stdout.write('no labs\n');
      for (const l of labs) {
        process.stdout.write(`${l.id.padEnd(18)} ${(l.state?.lab ?? '?').padEnd(13)} ${l.status.padEnd(10)} ${l.namespaces.length} namespaces, ${l.processes} processes${l.state ? `, since ${l.state.createdAt}` : ''}\n`);
      }
      return 0;
    }
    case 'truth': {
      let spec: LabSpec;
      if (values.lab !== undefined) spec = labSpec(values.lab, overridesFrom(values));
      else {
        const up = pickLab(values.id);
        spec = up?.state ? { ...up.state.spec, ...overridesFrom(values) } : labSpec('standard', overridesFrom(values));
      }
      const truth = computeTruth(resolveLabSpec(spec));
      if (values.expand) {
        // One JSON line per live address × scan port × protocol, for jq and non-JS consumers.
        for (const protocol of ['tcp', 'udp'] as const) {
          for (const e of truth.entries(protocol)) process.stdout.write(`${JSON.stringify(e)}\n`);
        }
        return 0;
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify(truth)}\n`);
        return 0;
      }
      const j = truth.toJSON();
      process.stdout.write(`lab ${j.lab}: ${j.description}\n`);
      process.stdout.write(`icmp: router ${j.icmp.router}, targets ${j.icmp.targets}; non-live addresses: ${j.nonLive}\n`);
      process.stdout.write(`scan ports: tcp ${j.scanPorts.tcp}; udp ${j.scanPorts.udp}\n`);
      for (const h of j.hosts) {
        const open = h.ports.filter((p) => p.state === 'open').map((p) => `${p.port}/${p.protocol}`);
        const other = h.ports.filter((p) => p.state !== 'open').map((p) => `${p.port}/${p.protocol}:${p.cause.replace('rule-', '')}`);
        process.stdout.write(`${h.address.padEnd(22)} ${h.role.padEnd(8)} open ${open.join(' ') || '-'}${other.length ? `  | ${other.join(' ')}` : ''}\n`);
      }
      return 0;
    }
    case 'exec': {
      if (dashdash < 0 || dashdash === rest.length - 1) throw new UsageError('exec needs a command after --');
      const up = pickLab(values.id);
      if (!up) throw new TestnetError('ERR_TESTNET_STATE', 'no lab is up; start one with `testnet up`');
      const scanner = up.namespaces.find((n) => n.endsWith('-scan'))!;
      const r = spawnSync('ip', ['netns', 'exec', scanner, ...rest.slice(dashdash + 1)], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

// `testnet truth | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`testnet: ${(err as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (err instanceof TestnetError) {
      process.stderr.write(`testnet: ${err.message} [${err.code}]\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`testnet: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
