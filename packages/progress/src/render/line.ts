/** @internal A line of styled spans, truncated to a width before styling, so escapes never count as columns. */

export type Style = 'green' | 'yellow' | 'red' | 'dim' | 'bold' | 'cyan';

const SGR: Record<Style, [string, string]> = {
  green: ['\x1b[32m', '\x1b[39m'],
  yellow: ['\x1b[33m', '\x1b[39m'],
  red: ['\x1b[31m', '\x1b[39m'],
  cyan: ['\x1b[36m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
};

export class Line {
  readonly #text: string[] = [];
  readonly #style: (Style | undefined)[] = [];

  add(text: string, style?: Style): this {
    if (text !== '') {
      this.#text.push(text);
      this.#style.push(style);
    }
    return this;
  }

  /** Visible columns (every character this package prints is one column wide). */
  get length(): number {
    let n = 0;
    for (const t of this.#text) n += [...t].length;
    return n;
  }

  /** The line cut to `width` columns, with ANSI styles when `color`. */
  render(width: number, color: boolean): string {
    let left = Math.max(0, Math.floor(width));
    let out = '';
    for (let i = 0; i < this.#text.length && left > 0; i++) {
      const chars = [...this.#text[i]];
      const t = chars.length > left ? chars.slice(0, left).join('') : this.#text[i];
      left -= Math.min(chars.length, left);
      const s = this.#style[i];
      out += color && s !== undefined ? SGR[s][0] + t + SGR[s][1] : t;
    }
    return out;
  }
}

/** A bar of `width` cells, `pct` (0–100) filled. */
export function bar(pct: number, width: number, unicode: boolean): string {
  const w = Math.max(0, Math.floor(width));
  const p = Number.isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0;
  // Floor: a cell fills only when its share is fully done, so a full bar means 100%.
  const filled = Math.floor((p / 100) * w);
  return (unicode ? '▓' : '#').repeat(filled) + (unicode ? '░' : '-').repeat(w - filled);
}
