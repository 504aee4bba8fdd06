import type { Suite } from '../suite.js';
import { eventBusSuite } from './event-bus.js';
import { progressSuite } from './progress.js';
import { loggerSuite } from './logger.js';
import { nativeSuite } from './native.js';
import { concurrencySuite } from './concurrency.js';
import { scanOverheadSuite } from './scan-overhead.js';
import { scanSuite } from './scan.js';

/** Every suite the runner knows, by name (the latency suite is handled apart: it reports percentiles). */
export const SUITES: Record<string, Suite> = {
  'event-bus': eventBusSuite,
  progress: progressSuite,
  logger: loggerSuite,
  native: nativeSuite,
  concurrency: concurrencySuite,
  scan: scanSuite,
  'scan-overhead': scanOverheadSuite,
};
