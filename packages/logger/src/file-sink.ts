import { closeSync, constants, fstatSync, fsync, fsyncSync, ftruncateSync, openSync, readSync, write, writeSync } from 'node:fs';

/** What a sink reports to its logger. Called from fs callbacks, never from inside a publish. */
export interface SinkOwner {
  readonly bufferSize: number;
  /** `lines` lines (`chars` UTF-16 units) reached the kernel. */
  sinkWritten(sink: FileSink, lines: number, chars: number): void;
  /** A write failed; `events` event lines (`chars` UTF-16 units with the meta lines) are lost. */
  sinkFailed(sink: FileSink, error: NodeJS.ErrnoException, events: number, chars: number): void;
  /** fstat says the file has no name any more (it, or its directory, was removed). The owner takes `buf`. */
  sinkRemoved(sink: FileSink): void;
  /** The fd is closed; for a retired sink the file is complete. */
  sinkClosed(sink: FileSink): void;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

/**
 * One open log file: a string buffer, at most one write(2) in flight, and
 * positional writes at offsets reserved when a chunk is handed to the kernel.
 * Reserving offsets is what lets flushSync() (at exit) rewrite an in-flight
 * chunk at its own offset and append the rest after it without reordering:
 * pwrite of the same bytes at the same place is idempotent.
 */
export class FileSink {
  readonly path: string;
  fd: number;
  /** Lines not yet handed to the kernel. */
  buf = '';
  bufLines = 0;
  /** Of bufLines, the event lines (the rest are meta lines): what a failure drops. */
  bufEvents = 0;
  /** Bytes in the file plus bytes buffered: what size rotation compares with maxBytes. */
  size: number;
  /** Event lines appended to this file (meta lines excluded): the footer's events_written. */
  events = 0;
  /** Events the logger dropped while this file was active: the footer's events_dropped. */
  dropped = 0;
  closing = false;
  closed = false;
  /** The file lost its name: no more writes go here. */
  removed = false;

  readonly #owner: SinkOwner;
  #fsyncOnClose = false;
  #nextOff: number;
  #inflight: Buffer | null = null;
  #inflightOff = 0;
  #inflightDone = 0;
  #inflightLines = 0;
  #inflightChars = 0;
  #inflightEvents = 0;
  /** Encoded chunks waiting for the write in flight to finish. */
  #staged: Buffer[] = [];
  #stagedBytes = 0;
  #stagedLines = 0;
  #stagedEvents = 0;
  #stagedChars = 0;
  /** flushSync() rewrote the in-flight chunk: its callback only retires it. */
  #redone = false;
  #ops = 0;
  #appended = 0;
  #settled = 0;
  #waiters: Waiter[] = [];
  #needNewline = false;
  readonly #onWrite: (err: NodeJS.ErrnoException | null, n: number) => void;

  private constructor(path: string, fd: number, size: number, needNewline: boolean, owner: SinkOwner) {
    this.path = path;
    this.fd = fd;
    this.size = size;
    this.#nextOff = size;
    this.#needNewline = needNewline;
    this.#owner = owner;
    this.#onWrite = (err, n) => this.#written(err, n);
  }

  /** Open (create with mode 0600, or append to) `path`. Throws the errno error. */
  static open(path: string, owner: SinkOwner): FileSink {
    // No O_APPEND: Linux pwrite ignores the offset under O_APPEND, and we place every chunk ourselves.
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    let size = 0;
    let needNewline = false;
    try {
      size = fstatSync(fd).size;
      if (size > 0) {
        // A writer killed mid-line left a partial last line: start ours on a fresh one.
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, size - 1);
        needNewline = b[0] !== 0x0a;
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new FileSink(path, fd, size, needNewline, owner);
  }

  get pendingChars(): number {
    return this.buf.length + this.#stagedChars + this.#inflightChars;
  }

  append(text: string, lines: number, events: number): void {
    this.buf += text;
    this.bufLines += lines;
    this.bufEvents += events;
    this.#appended += lines;
  }

  /**
   * Encode the string buffer into a Buffer waiting for the next write. While a
   * write is in flight the buffer is sealed every `bufferSize` characters, so
   * the V8 heap never holds a long rope of lines that would outlive a
   * scavenge: the bytes wait outside the heap.
   */
  #seal(): void {
    if (this.buf.length === 0) return;
    const text = this.#needNewline ? `\n${this.buf}` : this.buf;
    this.#needNewline = false;
    const b = Buffer.from(text, 'utf8');
    this.#staged.push(b);
    this.#stagedBytes += b.length;
    this.#stagedLines += this.bufLines;
    this.#stagedEvents += this.bufEvents;
    this.#stagedChars += this.buf.length;
    this.buf = '';
    this.bufLines = 0;
    this.bufEvents = 0;
  }

  #takeStaged(): Buffer {
    const data = this.#staged.length === 1 ? this.#staged[0] : Buffer.concat(this.#staged, this.#stagedBytes);
    this.#staged = [];
    this.#stagedBytes = 0;
    this.#stagedLines = 0;
    this.#stagedEvents = 0;
    this.#stagedChars = 0;
    return data;
  }

  /** Take the buffered lines away (to another file, or to count them as dropped). */
  takeBuffer(): { text: string; lines: number; events: number; chars: number } {
    const lines = this.#stagedLines + this.bufLines, events = this.#stagedEvents + this.bufEvents;
    const chars = this.#stagedChars + this.buf.length;
    const text = (this.#staged.length === 0 ? '' : this.#takeStaged().toString('utf8')) + this.buf;
    this.buf = '';
    this.bufLines = 0;
    this.bufEvents = 0;
    this.#settled += lines;
    this.#resolveWaiters();
    return { text, lines, events, chars };
  }

  /** Hand the buffer to the kernel; while a write is in flight, seal it (its completion hands the rest). */
  kick(): void {
    if (this.closed) return;
    if (this.#inflight !== null) {
      if (this.buf.length >= this.#owner.bufferSize) this.#seal();
      return;
    }
    this.#seal();
    if (this.#staged.length === 0) {
      this.#maybeFinish();
      return;
    }
    if (!this.#stillNamed()) return;
    const lines = this.#stagedLines;
    const chars = this.#stagedChars;
    this.#inflightEvents = this.#stagedEvents;
    const data = this.#takeStaged();
    this.#inflight = data;
    this.#inflightOff = this.#nextOff;
    this.#inflightDone = 0;
    this.#inflightLines = lines;
    this.#inflightChars = chars;
    this.#redone = false;
    this.#nextOff += data.length;
    this.#ops++;
    write(this.fd, data, 0, data.length, this.#inflightOff, this.#onWrite);
  }

  /** fstat at each flush: writes to an unlinked file succeed silently. */
  #stillNamed(): boolean {
    let nlink: number;
    try {
      nlink = fstatSync(this.fd).nlink;
    } catch (e) {
      this.#failBuffer(e as NodeJS.ErrnoException);
      return false;
    }
    if (nlink !== 0) return true;
    this.removed = true;
    this.#owner.sinkRemoved(this);
    return false;
  }

  #failBuffer(err: NodeJS.ErrnoException): void {
    const { events, chars } = this.takeBuffer();
    this.#owner.sinkFailed(this, err, events, chars);
  }

  #written(err: NodeJS.ErrnoException | null, n: number): void {
    this.#ops--;
    const data = this.#inflight as Buffer;
    if (!this.#redone && err === null) {
      this.#inflightDone += n;
      if (this.#inflightDone < data.length && n > 0) {
        this.#ops++;
        write(this.fd, data, this.#inflightDone, data.length - this.#inflightDone, this.#inflightOff + this.#inflightDone, this.#onWrite);
        return;
      }
    }
    const lines = this.#inflightLines, chars = this.#inflightChars;
    this.#inflight = null;
    this.#inflightChars = 0;
    this.#settled += lines;
    if (this.#redone || (err === null && this.#inflightDone === data.length)) {
      this.#owner.sinkWritten(this, lines, chars);
    } else {
      this.#rollBack();
      this.#owner.sinkFailed(this, err ?? Object.assign(new Error('write(2) wrote nothing'), { code: 'EIO' }), this.#inflightEvents, chars);
    }
    this.#resolveWaiters();
    if (this.#staged.length !== 0 || this.buf.length >= this.#owner.bufferSize || this.#waiters.length !== 0 || this.closing) this.kick();
    else this.#maybeFinish();
  }

  /** After a failed or short write: cut the partial line off, or make the next write start a new line. */
  #rollBack(): void {
    const off = this.#inflightOff, done = this.#inflightDone;
    if (done === 0) {
      this.#nextOff = off;
      return;
    }
    try {
      ftruncateSync(this.fd, off);
      this.#nextOff = off;
    } catch {
      this.#nextOff = off + done;
      this.#needNewline = true;
    }
  }

  #resolveWaiters(): void {
    if (this.#waiters.length === 0) return;
    const settled = this.#settled;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.target <= settled) w.resolve();
      else keep.push(w);
    }
    this.#waiters = keep;
  }

  /** Resolves once every line appended so far has been written (or has failed: see the owner's counters). */
  whenFlushed(): Promise<void> {
    const target = this.#appended;
    if (this.#settled >= target || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiters.push({ target, resolve });
      this.kick();
    });
  }

  /** Write everything now, synchronously (exit paths). Never throws. */
  flushSync(): void {
    if (this.closed) return;
    if (this.#inflight !== null && !this.#redone) {
      try {
        this.#pwriteAll(this.#inflight, this.#inflightOff);
        this.#redone = true;
      } catch {
        // Its callback reports the failure.
      }
    }
    this.#seal();
    if (this.#staged.length === 0) return;
    if (!this.removed) {
      try {
        if (fstatSync(this.fd).nlink === 0) {
          this.removed = true;
          this.#owner.sinkRemoved(this);
          return;
        }
      } catch {
        // The write below reports it.
      }
    }
    const lines = this.#stagedLines, chars = this.#stagedChars, events = this.#stagedEvents;
    const data = this.#takeStaged();
    this.#settled += lines;
    try {
      this.#pwriteAll(data, this.#nextOff);
      this.#nextOff += data.length;
      this.#owner.sinkWritten(this, lines, chars);
    } catch (e) {
      this.#owner.sinkFailed(this, e as NodeJS.ErrnoException, events, chars);
    }
    this.#resolveWaiters();
  }

  #pwriteAll(data: Buffer, off: number): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, off + done);
  }

  /** fsync(2) the file (asynchronously); errors go to `onError`. */
  fsync(onError: (e: NodeJS.ErrnoException) => void): void {
    if (this.closed) return;
    this.#ops++;
    fsync(this.fd, (err) => {
      this.#ops--;
      if (err) onError(err);
      this.#maybeFinish();
    });
  }

  /** Write what is left, fsync when asked, close. sinkClosed() follows. */
  retire(fsyncFirst: boolean): void {
    this.closing = true;
    this.#fsyncOnClose = fsyncFirst;
    this.kick();
  }

  /** Close now, synchronously (exit paths, or after flushSync()). */
  closeSync(fsyncFirst: boolean): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (fsyncFirst) {
        try {
          fsyncSync(this.fd);
        } catch {
          // Best effort on an exit path; the close below still happens.
        }
      }
      closeSync(this.fd);
    } catch {
      // Already closed by the kernel side (EBADF): nothing to keep.
    }
    this.#resolveWaiters();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }

  #maybeFinish(): void {
    if (!this.closing || this.closed || this.#ops !== 0 || this.#inflight !== null || this.buf.length !== 0 || this.#staged.length !== 0) return;
    if (this.#fsyncOnClose) {
      this.#fsyncOnClose = false;
      this.#ops++;
      fsync(this.fd, () => {
        this.#ops--;
        this.#maybeFinish();
      });
      return;
    }
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // EBADF/EIO at close: the data was already reported per write.
    }
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    this.#owner.sinkClosed(this);
  }
}
