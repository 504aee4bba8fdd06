/** What a stream can display: its width, colour, and whether the bar characters are safe. */
export interface TerminalCapabilities {
  readonly isTTY: boolean;
  /** Columns; 80 when unknown. */
  readonly width: number;
  readonly color: boolean;
  /** ▓ ░ are one column wide here (a UTF-8 locale that does not treat East Asian ambiguous characters as wide). */
  readonly unicode: boolean;
}

export interface StreamLike {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Capabilities from the stream and the environment. FORCE_COLOR set to
 * anything but 0/false forces colour on (even into a pipe), FORCE_COLOR=0
 * forces it off; otherwise a non-empty NO_COLOR turns it off; otherwise a TTY
 * whose TERM is not "dumb" gets colour.
 */
export function detectTerminal(stream: StreamLike, env: Env = process.env): TerminalCapabilities {
  const isTTY = stream.isTTY === true;
  let width = isTTY && typeof stream.columns === 'number' && stream.columns > 0 ? stream.columns : Number.parseInt(env.COLUMNS ?? '', 10);
  if (!Number.isFinite(width) || width <= 0) width = 80;
  return { isTTY, width, color: colorEnabled(isTTY, env), unicode: unicodeBars(env) };
}

export function colorEnabled(isTTY: boolean, env: Env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}

/**
 * The locale that decides how characters display: LC_ALL, then LC_CTYPE, then
 * LANG (POSIX precedence). Bar characters need UTF-8, and CJK locales draw
 * them two columns wide (East Asian "ambiguous" width), which would wrap.
 */
export function unicodeBars(env: Env): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  if (!/utf-?8/i.test(locale)) return false;
  return !/^(ja|zh|ko)([_.@-]|$)/i.test(locale);
}
