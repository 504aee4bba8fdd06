import type { Suite } from '../suite.js';
import { eventBusSuite } from './event-bus.js';
import { progressSuite } from './progress.js';
import { loggerSuite } from './logger.js';

/** Every suite the runner knows, by name (the latency suite is handled apart: it reports percentiles). */
export const SUITES: Record<string, Suite> = {
  'event-bus': eventBusSuite,
  progress: progressSuite,
  logger: loggerSuite,
};
