// Round-trip time estimate and the timeout it implies (RFC 6298, the rule
// nmap and TCP use): srtt and rttvar from observed answer times; timeout =
// srtt + 4 * rttvar, clamped. Until the first answer, the initial timeout.

export class RttEstimator {
  readonly minMs: number;
  readonly maxMs: number;
  #srtt = 0;
  #rttvar = 0;
  #samples = 0;
  #timeout: number;

  constructor(initialMs: number, minMs: number, maxMs: number) {
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.#timeout = initialMs;
  }

  get samples(): number {
    return this.#samples;
  }
  /** Smoothed round trip, ms (0 before any sample). */
  get srttMs(): number {
    return this.#srtt;
  }
  get rttvarMs(): number {
    return this.#rttvar;
  }
  /** Current probe timeout, ms. */
  get timeoutMs(): number {
    return this.#timeout;
  }

  observe(rttMs: number): void {
    if (!(rttMs >= 0)) return;
    if (this.#samples === 0) {
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rttMs);
      this.#srtt = 0.875 * this.#srtt + 0.125 * rttMs;
    }
    this.#samples++;
    const t = this.#srtt + 4 * this.#rttvar;
    this.#timeout = t < this.minMs ? this.minMs : t > this.maxMs ? this.maxMs : t;
  }
}
