/** Base of every error @portflow/core throws: a stable `code` to branch on. */
export class PortflowError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A wire-format line that cannot be decoded; `field` names the offending field ('' for the line itself). */
export class WireFormatError extends PortflowError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('ERR_WIRE_FORMAT', message, options);
    this.field = field;
  }
}

/** An event that cannot be written in the wire format (a NaN or infinite number, say). */
export class SerializeError extends PortflowError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_SERIALIZE', message);
    this.field = field;
  }
}

/** A malformed filter, or one that cannot be serialized (it contains `where`). */
export class FilterError extends PortflowError {
  constructor(code: 'ERR_FILTER_INVALID' | 'ERR_FILTER_NOT_SERIALIZABLE', message: string) {
    super(code, message);
  }
}

/** An invalid IP address or CIDR. */
export class AddressError extends PortflowError {
  readonly input: string;
  constructor(input: string, message: string) {
    super('ERR_INVALID_ADDRESS', message);
    this.input = input;
  }
}

/** An invalid option passed to a constructor or method. */
export class OptionError extends PortflowError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message);
  }
}

/** A stream whose queue overflowed with `overflow: 'error'`. */
export class StreamOverflowError extends PortflowError {
  constructor(capacity: number) {
    super('ERR_STREAM_OVERFLOW', `event stream overflowed its capacity of ${capacity}; consume faster, raise capacity, or use overflow 'drop-oldest'`);
  }
}

/** What a stream's iterator throws when its AbortSignal fires (Node's convention). */
export class AbortError extends PortflowError {
  constructor(options?: { cause?: unknown }) {
    super('ABORT_ERR', 'the operation was aborted', options);
  }
}
