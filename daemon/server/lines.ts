// Line framing for the transport: splits a byte stream into '\n'-terminated lines and ties the
// fds of each read to the line that holds the read's last byte.
//
// Why the last byte: the kernel ends a stream read right after the part that carried fds, and a
// sendmsg with fds starts at the beginning of a line (Connection.send makes it so), so the fds
// belong to the line the read ended in. A line longer than the limit is never buffered whole,
// and the unfinished lines of all connections together stay within a shared InputBudget.

import { closeQuietly } from '../sys/fd.js';

/** One received line with the fds that came with it. The consumer owns the fds. */
export class IncomingLine {
  readonly text: string;
  /** More fds were sent with this line than there was room for (MSG_CTRUNC); any that did
   *  arrive were closed. The sender should get FDS_TRUNCATED. */
  readonly truncated: boolean;
  private fds: number[];

  constructor(text: string, fds: number[], truncated: boolean) {
    this.text = text;
    this.truncated = truncated;
    this.fds = fds;
  }

  /** How many fds are still held by this line. */
  get fdCount(): number {
    return this.fds.length;
  }

  /** Takes the fds: the caller now closes them. Later calls return []. */
  takeFds(): number[] {
    const fds = this.fds;
    this.fds = [];
    return fds;
  }

  /** Closes whatever fds nobody took; the connection calls this when the handler is done. */
  closeFds(): void {
    for (const fd of this.takeFds()) closeQuietly(fd);
  }
}

/**
 * Bytes of unfinished lines that the connections sharing it may hold together. maxLineBytes
 * bounds one connection; this bounds them all, so that a thousand connections each sending most
 * of a 1 MiB line and no newline cost the daemon the budget, not a GiB. Only a line split across
 * reads is held: one that comes whole in one read is split straight out of the read buffer, so
 * small requests are served even while slow senders hold the whole budget.
 */
export class InputBudget {
  readonly limit: number;
  private usedBytes = 0;
  private lastWarning = -Infinity;
  private refusedSinceWarning = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` if they fit, and says whether they did. */
  take(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limit) return false;
    this.usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.usedBytes -= bytes;
  }

  /**
   * Counts a refusal. Many connections are refused at once when the budget runs out, so only
   * the first in each `quietMs` should be a warning; the others are counted into the next one.
   */
  refused(now = Date.now(), quietMs = 60_000): { warn: boolean; refusedSince: number } {
    if (now - this.lastWarning < quietMs) {
      this.refusedSinceWarning++;
      return { warn: false, refusedSince: this.refusedSinceWarning };
    }
    const refusedSince = this.refusedSinceWarning;
    this.lastWarning = now;
    this.refusedSinceWarning = 0;
    return { warn: true, refusedSince };
  }
}

/** What one read yields, in stream order: lines, and null where a line went over the limit. */
export type Fed = (IncomingLine | null)[];

export class LineSplitter {
  /** The unfinished line: copies of exactly its bytes, so nothing more stays pinned. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingFds: number[] = [];
  private pendingTruncated = false;
  /** After an overlong line: drop bytes until its end, then go on with the next line. */
  private discarding = false;
  private readonly budget: InputBudget;
  private lastOverBudget = false;

  /** Without a budget this splitter's unfinished line is bounded by maxLineBytes alone. */
  constructor(
    private readonly maxLineBytes: number,
    budget?: InputBudget,
  ) {
    this.budget = budget ?? new InputBudget(Infinity);
  }

  /**
   * Whether the last null of the latest feed() was for the shared budget, not the line limit.
   * Only the unfinished line at the end of a read is held, so only the last null can be.
   */
  get overBudget(): boolean {
    return this.lastOverBudget;
  }

  /**
   * Adds one read's bytes and fds. Returns the complete lines in order, with a null where a line
   * went over the limit or would have taken more than the budget has left (its bytes and fds are
   * dropped as they come, never buffered whole). The caller may reuse `chunk` once this returns.
   */
  feed(chunk: Buffer, fds: number[], truncated: boolean): Fed {
    const lines: Fed = [];
    this.lastOverBudget = false;
    const lastNewline = chunk.lastIndexOf(0x0a);
    // The fds go to the line holding the chunk's last byte: the partial line when the chunk
    // does not end in '\n', otherwise the last complete line.
    const fdsEndLine = lastNewline === chunk.length - 1 && lastNewline >= 0;

    if (truncated) for (const fd of fds.splice(0)) closeQuietly(fd);

    let start = 0;
    for (;;) {
      const nl = start <= lastNewline ? chunk.indexOf(0x0a, start) : -1;
      if (nl < 0) break;

      const isLast = nl === lastNewline;
      const part = chunk.subarray(start, nl);
      start = nl + 1;
      const lineFds = isLast && fdsEndLine ? fds : [];
      const lineTruncated = isLast && fdsEndLine ? truncated : false;

      if (this.discarding) {
        this.discarding = false;
        this.dropPending();
        for (const fd of lineFds) closeQuietly(fd);
        continue;
      }
      if (this.pendingBytes + part.length > this.maxLineBytes) {
        lines.push(null);
        this.dropPending();
        for (const fd of lineFds) closeQuietly(fd);
        continue;
      }

      lines.push(this.complete(part, lineFds, lineTruncated));
    }

    const rest = chunk.subarray(start);
    if (!fdsEndLine) {
      this.pendingFds.push(...fds);
      this.pendingTruncated ||= truncated;
    }
    if (this.discarding) {
      this.dropPending();
    } else if (rest.length > 0) {
      const overLine = this.pendingBytes + rest.length > this.maxLineBytes;
      if (overLine || !this.budget.take(rest.length)) {
        lines.push(null);
        this.lastOverBudget = !overLine;
        this.discarding = true;
        this.dropPending();
      } else {
        // A copy of just these bytes: the caller reuses its read buffer, and a view would keep
        // the whole read it came from alive. Unpooled, so it pins no shared slab either.
        const kept = Buffer.allocUnsafeSlow(rest.length);
        rest.copy(kept);
        this.pending.push(kept);
        this.pendingBytes += rest.length;
      }
    }
    return lines;
  }

  /** Bytes of a line not yet ended, held (and taken from the budget) until it ends. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** At end of stream: the unterminated last line, if any (socat without a final newline). */
  finish(): IncomingLine | null {
    if (this.discarding || this.pendingBytes === 0) {
      this.dropPending();
      return null;
    }
    return this.complete(Buffer.alloc(0), [], false);
  }

  /** Closes the fds of a partial line; for a connection that goes away. */
  dispose(): void {
    this.dropPending();
  }

  private complete(tail: Buffer, fds: number[], truncated: boolean): IncomingLine {
    const bytes = this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail]);
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const allFds = [...this.pendingFds, ...fds];
    const line = new IncomingLine(text, allFds, this.pendingTruncated || truncated);
    this.pendingFds = [];
    this.reset();
    return line;
  }

  private dropPending(): void {
    for (const fd of this.pendingFds) closeQuietly(fd);
    this.pendingFds = [];
    this.reset();
  }

  /** Lets go of the unfinished line's bytes: they go back to the budget and to the GC. */
  private reset(): void {
    this.budget.give(this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingTruncated = false;
  }
}
