import type { ScanEvent } from './events.js';
import type { Subscriber } from './event-bus.js';

/** Delivers one event to the subscribers of its type. */
export type Dispatch = (event: ScanEvent) => void;

export type FailureReport = (s: Subscriber, error: unknown, event: ScanEvent) => void;

export const NOOP: Dispatch = () => undefined;

/** Above this many subscribers of one type, a loop: generated code grows with the list. */
const MAX_UNROLLED = 32;

/**
 * A dispatcher for one type's subscriber snapshot. Like tseep, generated code
 * calls every handler directly (no loop, no per-subscriber try); one try
 * guards the whole run and, if a handler throws, `resume` reports it and
 * continues with the next subscriber, each under its own try. The `active`
 * check keeps a subscriber that unsubscribed earlier in this dispatch from
 * receiving the event.
 */
export function makeDispatcher(subs: readonly Subscriber[], report: FailureReport): Dispatch {
  if (subs.length === 0) return NOOP;
  const resume = (from: number, error: unknown, e: ScanEvent): void => {
    report(subs[from], error, e);
    deliverFrom(subs, from + 1, e, report);
  };
  if (subs.length > MAX_UNROLLED) {
    return (e) => deliverFrom(subs, 0, e, report);
  }
  const pre: string[] = [];
  const calls: string[] = [];
  subs.forEach((s, k) => {
    pre.push(`const s${k} = S[${k}], h${k} = s${k}.handler${s.test ? `, t${k} = s${k}.test` : ''};`);
    calls.push(`i = ${k}; if (s${k}.active${s.test ? ` && t${k}(e)` : ''}) { s${k}.delivered++; h${k}(e); }`);
  });
  const src = `${pre.join('\n')}
return function dispatch(e) {
  let i = 0;
  try {
    ${calls.join('\n    ')}
  } catch (err) {
    resume(i, err, e);
  }
};`;
  return new Function('S', 'resume', src)(subs, resume) as Dispatch;
}

/** The plain loop: after a failure, and for long subscriber lists. */
export function deliverFrom(subs: readonly Subscriber[], from: number, e: ScanEvent, report: FailureReport): void {
  for (let i = from; i < subs.length; i++) {
    const s = subs[i];
    if (!s.active) continue;
    try {
      if (s.test === null || s.test(e)) {
        s.delivered++;
        s.handler(e);
      }
    } catch (err) {
      report(s, err, e);
    }
  }
}
