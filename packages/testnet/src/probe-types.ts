import type { Protocol } from './spec.js';

/** One plain-socket check, run from the scanner namespace by `lab.probe()`. */
export interface ProbeRequest {
  readonly address: string;
  readonly protocol: Protocol;
  readonly port: number;
  /** UDP only: what to send (default `empty`). `dns` sends an A query. */
  readonly payload?: 'empty' | 'dns' | 'text';
}

/**
 * What the socket saw: `connected` (TCP handshake done), `reply` (UDP datagram
 * back), `refused` (RST, or ICMP port unreachable on UDP), `unreachable` (an
 * ICMP unreachable other than port: admin-prohibited, host-unreach; see
 * `code`), `timeout` (nothing within the timeout), `error` (anything else).
 */
export type ProbeOutcome = 'connected' | 'reply' | 'refused' | 'unreachable' | 'timeout' | 'error';

export interface ProbeResult extends ProbeRequest {
  readonly outcome: ProbeOutcome;
  /** Milliseconds from connect()/send to the handshake, the datagram back or the error; absent on timeout. */
  readonly rttMs?: number;
  /** errno name for refused/unreachable/error, e.g. EHOSTUNREACH. */
  readonly code?: string;
  /** TCP: what the service sent unprompted (its banner), latin1. */
  readonly banner?: string;
  /** TCP: what it answered to a line of input; UDP: the datagram received, latin1. */
  readonly reply?: string;
}

export interface ProbeOptions {
  /** How long to wait for a handshake or an answer (default 1,000 ms). */
  readonly timeoutMs?: number;
  /** How long to wait for a banner, then for a reply to a line (default 300 ms each). */
  readonly readMs?: number;
  /** Probes in flight at once (default 256). */
  readonly concurrency?: number;
}
