import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/**
 * Network namespaces and the processes inside them, read from /run/netns and
 * /proc directly: one pass over /proc finds the processes of every namespace
 * at once (what `ip netns pids` does, one namespace per call).
 */
const NETNS_DIR = '/run/netns';

export function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

/** Pids of the processes whose network namespace is one of `names`, by namespace. */
export function processesIn(names: readonly string[]): Map<string, number[]> {
  const byInode = new Map<number, string>();
  for (const n of names) {
    try {
      byInode.set(statSync(`${NETNS_DIR}/${n}`).ino, n);
    } catch {
      // already gone
    }
  }
  const out = new Map<string, number[]>();
  if (byInode.size === 0) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      continue; // exited meanwhile, or a kernel thread
    }
    const m = /^net:\[(\d+)\]$/.exec(link);
    const ns = m ? byInode.get(Number(m[1])) : undefined;
    if (!ns) continue;
    const list = out.get(ns) ?? [];
    list.push(Number(entry));
    out.set(ns, list);
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), to tell a reused pid apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

