// Rate control of the raw-packet scans: decides the sender's rate once per
// interval from what the answering hosts did in it, never from the share of
// silent addresses (a -Pn scan of a sparse range is mostly silent by design).
//
// Signals, per interval:
// - drops: packets lost on our own machine (kernel capture drops, softnet
//   drops, records an output ring could not take). Any growth halves the rate:
//   replies are being lost before classification, which retries cannot fix
//   at this rate.
// - answers from hosts that have answered before: while they keep coming and
//   the sender achieves the rate it was given, the rate ramps up, doubling
//   until the first back-off (slow start), then +25% per interval. An
//   interval without answers holds the rate: silent probes change nothing.
//   "Achieves": at least 80% of the rate, or half of it in slow start. A
//   sender whose core is shared (2 cores: capture, the JS thread) undershoots
//   a rate it can reach by 20-30% in its pacing sleeps; measured in the
//   standard lab, -T5 held 200,000 pps for over a second at 150,000 achieved,
//   then sent 250,000 once given 400,000. A doubling past the ceiling costs
//   nothing (the sender sends flat out) and drops or loss still back off.
// - loss among the answering hosts, per host: a TCP reply's local port tells
//   which try it answers (the engine sends try t from source port
//   first + (index + t) mod count), so each answer is a first-try answer or
//   one that needed a resend. A host whose answers (at least
//   MIN_LOSS_ANSWERS of them) needed a resend more often than LOSS_THRESHOLD
//   is losing probes or replies on its path, as nmap's per-host congestion
//   control sees a drop: the rate backs off by a quarter (gentler than drops:
//   the resends recover the answers). With no lossy host the ramp resumes.
//   Only answers count, never probes without one, so silent addresses never
//   read as loss.
// The rate stays within [minRate, maxRate] (maxRate is a promise to the user).

export interface RateSample {
  /** Kernel + softnet + ring drops that appeared during the interval. */
  drops: number;
  /** Answers in the interval from hosts that have answered (open or closed ports, discovery replies). */
  answered: number;
  /** The rate the sender achieved during the interval (pps); ramping is pointless while it cannot reach the set rate. */
  achievedRate: number;
  /**
   * The highest share of answers that needed a resend among the hosts with at least
   * MIN_LOSS_ANSWERS answers in the interval (0 when no host had that many, or for scans
   * whose replies cannot tell the try, e.g. UDP).
   */
  lossShare?: number;
}

/** Answers a host needs before its resend share is judged (at 2% loss, 11 or more of 100 happen about once in 10^5). */
export const MIN_LOSS_ANSWERS = 100;
/** A host loses probes when more than this share of its answers needed a resend (1% loss each way is about 2%). */
export const LOSS_THRESHOLD = 0.1;

export type RateDecision = 'hold' | 'increase' | 'backoff-drops' | 'backoff-loss';

const SLOW_START_FACTOR = 2;
const RAMP_FACTOR = 1.25;
const DROP_FACTOR = 0.5;
const LOSS_FACTOR = 0.75;
/** Share of the rate the sender must achieve for a ramp step (see above). */
const ACHIEVED_SHARE = 0.8;
const ACHIEVED_SHARE_SLOW_START = 0.5;

export class RateController {
  readonly minRate: number;
  readonly maxRate: number;
  #rate: number;
  #slowStart = true;
  #backoffs = 0;
  #lastDecision: RateDecision = 'hold';
  /** The rate a back-off came down from (RateLimitTriggered's limit). */
  #limitSeen = 0;

  constructor(initialRate: number, minRate: number, maxRate: number) {
    this.minRate = minRate;
    this.maxRate = maxRate;
    this.#rate = clamp(initialRate, minRate, maxRate);
  }

  get rate(): number {
    return this.#rate;
  }
  /** Doubling until the first back-off: the engine decides more often then. */
  get slowStart(): boolean {
    return this.#slowStart;
  }
  get backoffs(): number {
    return this.#backoffs;
  }
  get lastDecision(): RateDecision {
    return this.#lastDecision;
  }
  /** The rate before the latest back-off. */
  get limitSeen(): number {
    return this.#limitSeen;
  }

  /** One interval's figures in, the decision out (the new rate is `rate`). */
  update(s: RateSample): RateDecision {
    const before = this.#rate;
    let d: RateDecision = 'hold';
    const loss = (s.lossShare ?? 0) > LOSS_THRESHOLD;
    if (s.drops > 0 || loss) {
      d = s.drops > 0 ? 'backoff-drops' : 'backoff-loss';
      this.#limitSeen = before;
      this.#slowStart = false;
      this.#backoffs++;
      const base = Number.isFinite(before) ? before : Math.max(s.achievedRate, this.minRate);
      this.#rate = clamp(base * (s.drops > 0 ? DROP_FACTOR : LOSS_FACTOR), this.minRate, this.maxRate);
    } else if (s.answered > 0 && Number.isFinite(before) && s.achievedRate >= (this.#slowStart ? ACHIEVED_SHARE_SLOW_START : ACHIEVED_SHARE) * before) {
      this.#rate = clamp(before * (this.#slowStart ? SLOW_START_FACTOR : RAMP_FACTOR), this.minRate, this.maxRate);
      if (this.#rate !== before) d = 'increase';
    }
    this.#lastDecision = d;
    return d;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
