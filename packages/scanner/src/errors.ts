// Messages quote user input; escaping control characters keeps every message
// on one line whatever the input held.
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    return json.length > 1 ? json : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Base of every error @portflow/scanner throws: a stable `code` to branch on. Messages are one line. */
export class ScannerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A target or exclusion that cannot be parsed. `token` is the offending text,
 * `source` where it came from (e.g. "targets.txt:12" or "command line").
 */
export class TargetSpecError extends ScannerError {
  readonly token: string;
  readonly source: string;
  constructor(code: 'ERR_TARGET_SPEC' | 'ERR_TARGET_FILE' | 'ERR_TARGET_UNRESOLVED', token: string, source: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.token = token;
    this.source = source;
  }
}

/** A port spec that cannot be parsed; `token` is the offending item. */
export class PortSpecError extends ScannerError {
  readonly token: string;
  constructor(token: string, message: string) {
    super('ERR_PORT_SPEC', message);
    this.token = token;
  }
}

export type ScanJobErrorCode =
  | 'ERR_JOB_EMPTY'
  | 'ERR_JOB_TOO_LARGE'
  | 'ERR_JOB_OPTION'
  | 'ERR_JOB_FORMAT'
  | 'ERR_JOB_POSITION';

/** A scan job that cannot be built or restored; `code` says which rule. */
export class ScanJobError extends ScannerError {
  declare readonly code: ScanJobErrorCode;
  constructor(code: ScanJobErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
