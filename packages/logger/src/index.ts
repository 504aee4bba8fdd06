export { EventLogger, type LoggerStats } from './event-logger.js';
export {
  DEFAULT_BUFFER_SIZE,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_FILES,
  type EventLoggerOptions,
  type RotationOptions,
  type FsyncPolicy,
} from './options.js';
export { readEvents, resolveLogFiles, EventReader, type ReadEventsOptions, type ReadStats, type ReadWarning, type ReadWarningCode } from './read-events.js';
export { LogLockedError, LogOpenError, LoggerClosedError, LogNotFoundError } from './errors.js';
export { nextBoundary, type RotationInterval } from './path-pattern.js';
