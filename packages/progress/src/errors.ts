import { PortflowError } from '@portflow/core';

/** An invalid option given to a progress model, aggregator, estimator or renderer. */
export class ProgressOptionError extends PortflowError {
  constructor(message: string) {
    super('ERR_PROGRESS_OPTION', message);
  }
}

/** A method called on an object that cannot serve it (start() on a global aggregator, use after close()). */
export class ProgressStateError extends PortflowError {
  constructor(message: string) {
    super('ERR_PROGRESS_STATE', message);
  }
}

/** @internal Validation helpers shared by every constructor. */
export function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ProgressOptionError(`${name} must be a positive finite number (milliseconds unless stated), got ${String(value)}`);
  }
  return value;
}
