// Benchmark entry points: native loops that time themselves. The benchmark suite
// (benchmarks/) calls these and reports the figures.
import { getBinding } from './binding.js';

export const bench = {
  /** ns per IPv4 SYN crafted (Ethernet, Linux options, 256 slots patched in place). */
  craftSyn(count: number): number {
    return getBinding().bench.craftSyn(count);
  },
  /** ns per frame parsed (SYN-ACK with options, RST, ICMP port unreachable; checksums verified). */
  parse(count: number): number {
    return getBinding().bench.parse(count);
  },
};
