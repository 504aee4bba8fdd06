import { spawnSync } from 'node:child_process';
import { describe, expect } from 'vitest';
import { listNamespaces, LoopbackNamespace } from '../../src/index.js';
import { labIt } from './check.js';

describe('LoopbackNamespace', () => {
  labIt('has only its loopback, up; delete() is idempotent; a dead run\'s namespace is removed by the next', () => {
    // A namespace named as a process that no longer exists would name it (pid 2^22 + 1 is above pid_max's ceiling).
    const stale = `pftestlo${(1 << 22) + 1}-old`;
    expect(spawnSync('ip', ['netns', 'add', stale]).status).toBe(0);
    const ns = new LoopbackNamespace('pftestlo', 'a');
    try {
      expect(ns.name).toBe(`pftestlo${process.pid}-a`);
      expect(listNamespaces()).not.toContain(stale);
      const [file, args] = ns.exec('ip', ['-o', 'link', 'show']);
      const links = spawnSync(file, args, { encoding: 'utf8' }).stdout.trim().split('\n');
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    } finally {
      ns.delete();
      ns.delete();
      spawnSync('ip', ['netns', 'del', stale]);
    }
    expect(listNamespaces()).not.toContain(ns.name);
  });
});
