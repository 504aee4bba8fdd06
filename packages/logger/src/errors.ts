import { PortflowError } from '@portflow/core';

/** Another live process (or another logger in this one) holds the log file's lock. */
export class LogLockedError extends PortflowError {
  readonly path: string;
  readonly pid: number;
  constructor(path: string, pid: number) {
    super(
      'ERR_LOG_LOCKED',
      `${path} is being written by process ${pid} (lock file ${path}.lock); log to another path, or stop that process` +
        ' (a lock left by a dead process is taken over automatically)',
    );
    this.path = path;
    this.pid = pid;
  }
}

/** The log file could not be created or opened when the logger started. */
export class LogOpenError extends PortflowError {
  readonly path: string;
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super('ERR_LOG_OPEN', `cannot open log file ${path}: ${cause.code ?? cause.message}; check that its directory exists and is writable`, { cause });
    this.path = path;
  }
}

/** An operation on a logger that has been closed. */
export class LoggerClosedError extends PortflowError {
  constructor(what: string) {
    super('ERR_LOGGER_CLOSED', `${what}: the logger is closed; create a new EventLogger`);
  }
}

/** readEvents() found nothing to read. */
export class LogNotFoundError extends PortflowError {
  readonly pattern: string;
  constructor(pattern: string) {
    super('ERR_LOG_NOT_FOUND', `no log files match ${pattern}; give a .jsonl or .jsonl.gz path or a glob such as scans.jsonl*`);
    this.pattern = pattern;
  }
}
