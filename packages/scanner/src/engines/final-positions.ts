// Positions made final out of order, above the job's lowWater (below it every position is
// final). The probe scan drops duplicate records by it; both engines' host timeouts ask it
// which of a host's positions are still open.
import type { ScanJob } from '../job.js';

export class FinalPositions {
  readonly #job: ScanJob;
  readonly #set = new Set<number>();
  readonly #pruneMin: number;
  #pruneAt: number;

  /** `pruneMin`: the set is first pruned at this size. */
  constructor(job: ScanJob, pruneMin: number) {
    this.#job = job;
    this.#pruneMin = pruneMin;
    this.#pruneAt = pruneMin;
  }

  has(position: number): boolean {
    return position < this.#job.lowWater || this.#set.has(position);
  }

  add(position: number): void {
    this.#set.add(position);
    if (this.#set.size > this.#pruneAt) this.#prune();
  }

  /**
   * Forgets positions below the job's lowWater. Amortised: while lowWater waits for a slow
   * probe (a filtered port's last retry) the set only grows, so the next prune comes after
   * it has doubled, not at every add.
   */
  #prune(): void {
    const low = this.#job.lowWater;
    for (const p of this.#set) if (p < low) this.#set.delete(p);
    this.#pruneAt = Math.max(this.#pruneMin, this.#set.size * 2);
  }
}
