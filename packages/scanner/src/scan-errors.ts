import { ScannerError } from './errors.js';

export type ScanOptionErrorCode = 'ERR_SCAN_OPTION';

/** A scan option that is missing, of the wrong type or out of range; `option` names it. */
export class ScanOptionError extends ScannerError {
  declare readonly code: ScanOptionErrorCode;
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('ERR_SCAN_OPTION', message, options);
    this.option = option;
  }
}

/** A scan type this build knows of but cannot run yet (SYN and UDP need the native sender and capture). */
export class ScanTypeUnavailableError extends ScannerError {
  declare readonly code: 'ERR_SCAN_TYPE_UNAVAILABLE';
  readonly scanType: string;
  constructor(scanType: string, message: string) {
    super('ERR_SCAN_TYPE_UNAVAILABLE', message);
    this.scanType = scanType;
  }
}

export type ScanResumeErrorCode = 'ERR_SCAN_RESUME_CHECKPOINT' | 'ERR_SCAN_RESUME_MISMATCH';

/** A `resumeFrom` checkpoint that is malformed, or that belongs to a scan with another configuration. */
export class ScanResumeError extends ScannerError {
  declare readonly code: ScanResumeErrorCode;
  constructor(code: ScanResumeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The machine ran out of something a probe needs (file descriptors, local
 * ports) and lowering the concurrency did not help: the scan stops rather than
 * reporting states it did not observe.
 */
export class ScanResourceError extends ScannerError {
  declare readonly code: 'ERR_SCAN_RESOURCES';
  readonly errno: string;
  constructor(errno: string, message: string) {
    super('ERR_SCAN_RESOURCES', message);
    this.errno = errno;
  }
}

/**
 * The SYN, UDP and raw discovery scans send and capture raw packets: the process needs root
 * or CAP_NET_RAW. The message names the three ways out.
 */
export class ScanPrivilegeError extends ScannerError {
  declare readonly code: 'ERR_SCAN_PRIVILEGE';
  readonly scanType: string;
  constructor(scanType: string, options?: { cause?: unknown }) {
    super(
      'ERR_SCAN_PRIVILEGE',
      `scan: the ${scanType} scan sends raw packets, which needs root or CAP_NET_RAW: run as root, grant it with \`sudo setcap cap_net_raw+ep $(readlink -f $(which node))\`, or use type "connect" (no privileges)`,
      options,
    );
    this.scanType = scanType;
  }
}

/** The probe engine failed the scan in a way options cannot fix (records lost beyond repair). */
export class ScanEngineError extends ScannerError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
