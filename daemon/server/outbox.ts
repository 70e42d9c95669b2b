// Outbox: the lines a connection has yet to write, gathered into as few sendmsg calls as the fds
// they carry allow.

import { closeQuietly } from '../sys/fd.js';
import { MAX_IOV, SCM_MAX_FD, sendWithFds } from '../sys/scm.js';

export interface SendOptions {
  /** Close the passed fds once they went out (or when the send is dropped). */
  closeFds?: boolean;
  /**
   * Told once whether the line's first bytes (and so its fds) went into the socket: true after
   * that sendmsg, false when the line is dropped unsent (the connection closed first).
   */
  onSent?: (sent: boolean) => void;
}

interface Outgoing {
  data: Buffer;
  fds: readonly number[];
  closeFds: boolean;
  onSent: ((sent: boolean) => void) | undefined;
}

/** What a write left behind: nothing queued, or lines waiting for room in the socket. */
export type WriteResult = 'drained' | 'blocked';

export class Outbox {
  private readonly fd: number;
  private readonly queue: Outgoing[] = [];
  private dropped = false;

  /** Writes to `fd`, a non-blocking stream socket that stays the caller's to close. */
  constructor(fd: number) {
    this.fd = fd;
  }

  /** Lines queued and not yet wholly written. */
  get size(): number {
    return this.queue.length;
  }

  /**
   * Queues `data` (a whole line, its '\n' included) with the fds to go with it. One sendmsg
   * carries SCM_MAX_FD fds at most, so a line with more goes in as many segments, each with its
   * share of the fds on its first byte; the reader gathers a line's fds from all of its reads.
   * The sender is told once the last segment, and so every fd, went out.
   */
  push(data: Buffer, fds: readonly number[], options: SendOptions = {}): void {
    const closeFds = options.closeFds ?? false;
    const segments = Math.max(1, Math.ceil(fds.length / SCM_MAX_FD));
    if (segments > data.length) throw new RangeError(`${fds.length} fds on a line too short`);
    for (let i = 0; i < segments; i++) {
      const last = i === segments - 1;
      this.queue.push({
        data: data.subarray(
          Math.floor((i * data.length) / segments),
          last ? data.length : Math.floor(((i + 1) * data.length) / segments),
        ),
        fds: fds.slice(i * SCM_MAX_FD, (i + 1) * SCM_MAX_FD),
        closeFds,
        onSent: last ? options.onSent : undefined,
      });
    }
  }

  /**
   * Writes until nothing is queued or the socket is full. A failing sendmsg (EPIPE, ECONNRESET)
   * is thrown, and what it did not send stays queued for drop().
   */
  write(): WriteResult {
    while (this.queue.length > 0 && !this.dropped) {
      const batch = this.nextBatch();
      const sent = sendWithFds(
        this.fd,
        batch.map((out) => out.data),
        batch[0]!.fds,
      );
      if (sent === null) return 'blocked';
      this.consume(sent);
    }
    return 'drained';
  }

  /** Forgets every queued line, for good: fds closed where asked, each sender told unsent. */
  drop(): void {
    this.dropped = true;
    for (const out of this.queue.splice(0)) {
      if (out.closeFds) for (const fd of out.fds) closeQuietly(fd);
      out.onSent?.(false);
    }
  }

  /**
   * What the next sendmsg carries. A line with fds goes alone: the reader's read ends with the
   * segment that carried fds, and its splitter gives them to the read's last line, so any line
   * in the same sendmsg after it (or before it) would take its fds. Fd-less lines are gathered.
   */
  private nextBatch(): Outgoing[] {
    const batch = [this.queue[0]!];
    if (batch[0]!.fds.length > 0) return batch;
    for (let i = 1; i < this.queue.length && batch.length < MAX_IOV; i++) {
      const next = this.queue[i]!;
      if (next.fds.length > 0) break;
      batch.push(next);
    }
    return batch;
  }

  /** Drops `sent` bytes from the head of the queue; fds went with the first byte. */
  private consume(sent: number): void {
    const head = this.queue[0]!;
    if (head.closeFds) for (const fd of head.fds) closeQuietly(fd);
    head.fds = [];
    head.onSent?.(true);
    head.onSent = undefined;

    let left = sent;
    while (left > 0) {
      const out = this.queue[0]!;
      if (left >= out.data.length) {
        left -= out.data.length;
        this.queue.shift();
      } else {
        out.data = out.data.subarray(left);
        left = 0;
      }
    }
  }
}
