// Pause and cancel as engines see them: flags they test before each send, and
// one-shot waiters so an engine sleeps while paused instead of polling.

export type ControlState = 'running' | 'paused' | 'cancelled';

export class ScanControl {
  #state: ControlState = 'running';
  #reason = '';
  #waiters: (() => void)[] = [];
  #onCancel: (() => void)[] = [];
  readonly #listeners = new Set<(state: ControlState) => void>();

  get state(): ControlState {
    return this.#state;
  }
  get paused(): boolean {
    return this.#state === 'paused';
  }
  get cancelled(): boolean {
    return this.#state === 'cancelled';
  }
  /** The reason given to cancel(). */
  get reason(): string {
    return this.#reason;
  }

  /** True when it changed the state. */
  pause(): boolean {
    if (this.#state !== 'running') return false;
    this.#state = 'paused';
    this.#changed();
    return true;
  }

  resume(): boolean {
    if (this.#state !== 'paused') return false;
    this.#state = 'running';
    this.#wake();
    this.#changed();
    return true;
  }

  cancel(reason: string): boolean {
    if (this.#state === 'cancelled') return false;
    this.#state = 'cancelled';
    this.#reason = reason;
    this.#wake();
    const fns = this.#onCancel;
    this.#onCancel = [];
    for (const fn of fns) fn();
    this.#changed();
    return true;
  }

  /** Calls `fn` on every change of state (engines whose sender runs on another thread pause it at once); returns the unsubscriber. */
  onChange(fn: (state: ControlState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(): void {
    for (const fn of [...this.#listeners]) fn(this.#state);
  }

  /** Runs `fn` once when the scan is cancelled (at once if it already is). */
  onCancel(fn: () => void): void {
    if (this.#state === 'cancelled') fn();
    else this.#onCancel.push(fn);
  }

  /** Calls `fn` once the scan is no longer paused (resumed or cancelled). */
  whenRunnable(fn: () => void): void {
    if (this.#state !== 'paused') fn();
    else this.#waiters.push(fn);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }
}
