/** Base of every error @portflow/native throws: a stable `code` to branch on. */
export class NativeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The compiled addon is missing, was built for another Node ABI, or is not a loadable addon. */
export class NativeLoadError extends NativeError {
  readonly path: string;
  constructor(code: 'ERR_NATIVE_MISSING' | 'ERR_NATIVE_ABI' | 'ERR_NATIVE_INVALID', path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** An option given to a packet builder is out of range or of the wrong type; `field` names it. */
export class PacketOptionError extends NativeError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_PACKET_OPTION', message);
    this.field = field;
  }
}

/** A frame the parser could not fully decode; `partial` holds every layer below the failing one. */
export class PacketParseError extends NativeError {
  readonly layer: string;
  readonly offset: number;
  readonly partial: unknown;
  constructor(code: 'ERR_PACKET_TRUNCATED' | 'ERR_PACKET_MALFORMED' | 'ERR_PACKET_UNSUPPORTED', layer: string, offset: number, message: string, partial: unknown) {
    super(code, message);
    this.layer = layer;
    this.offset = offset;
    this.partial = partial;
  }
}

/** A ring option or call that cannot work (bad capacity, use after close). */
export class RingError extends NativeError {}
