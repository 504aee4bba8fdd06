// Per-host loss from which try each TCP answer answers (rate control's loss signal).
//
// The probe engine sends try t (0 = first) of the probe with job index i from source port
// first + (i + t) mod count, so a reply's local port gives t back. Each answering host
// counts its first-try answers and the answers that needed a resend; once it has
// MIN_LOSS_ANSWERS of them it is judged at the next interval and starts counting anew (a
// slow host is judged over several intervals, a fast one over each). The interval's loss
// share is the worst judged host's. Probes without an answer never count: a silent
// address is not loss.
import { MIN_LOSS_ANSWERS } from '../rate-control.js';

/** The try (0 = first) a TCP reply answers, from its local port; 0 when the ports cannot tell (count 1). */
export function tryOfReply(localPort: number, index: number, first: number, count: number): number {
  if (count <= 1) return 0;
  const t = (localPort - first - (index % count)) % count;
  return t < 0 ? t + count : t;
}

interface HostTries {
  first: number;
  resent: number;
}

export class TryLoss {
  /** Counts per answering host since it was last judged. */
  readonly #hosts = new Map<string, HostTries>();
  /** Answers that needed a resend, over the whole scan (MetricRecorded). */
  resentAnswers = 0;
  /** First-try answers, over the whole scan. */
  firstTryAnswers = 0;
  /** The latest interval's loss share (MetricRecorded). */
  lastShare = 0;

  /** One answer from `address` to try `t`. */
  answer(address: string, t: number): void {
    let h = this.#hosts.get(address);
    if (h === undefined) this.#hosts.set(address, (h = { first: 0, resent: 0 }));
    if (t === 0) {
      h.first++;
      this.firstTryAnswers++;
    } else {
      h.resent++;
      this.resentAnswers++;
    }
  }

  /** The worst share of answers that needed a resend among the hosts with enough answers to judge; those start anew. */
  take(): number {
    let worst = 0;
    for (const [address, h] of this.#hosts) {
      const n = h.first + h.resent;
      if (n < MIN_LOSS_ANSWERS) continue;
      if (h.resent / n > worst) worst = h.resent / n;
      this.#hosts.delete(address);
    }
    this.lastShare = worst;
    return worst;
  }
}
