// Connection: one JSON message per line over a connected non-blocking AF_UNIX stream socket,
// with fds passed alongside (SCM_RIGHTS). The daemon and the client use the same class.
//
//   const conn = new Connection(fd, { onLine, onClose, maxLineBytes, idleTimeoutMs, goodbye })
//   conn.onLine = (line) => { const fds = line.takeFds(); ... }   // untaken fds are closed
//   conn.send('{"jsonrpc":"2.0",...}', [fd1, fd2], { closeFds: true })
//   conn.end()      // flush what is queued, then close;  conn.destroy(): close now
//   conn.peer       // SO_PEERCRED of the other end, read when the Connection was made
//
// A line handler may return a promise: the line's fds stay open until it settles, and a peer
// that half-closed still gets its replies before the connection closes. A line over
// maxLineBytes, an unfinished line that would take more than is left of the shared inputBudget,
// or an idle timeout, sends the `goodbye(reason)` line (if any) and closes.

import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { closeQuietly } from '../sys/fd.js';
import { recvWithFds, SCM_MAX_FD } from '../sys/scm.js';
import type { PeerCred } from '../sys/socket.js';
import { getPeerCred } from '../sys/socket.js';
import { IncomingLine, type InputBudget, LineSplitter } from './lines.js';
import { Outbox, type SendOptions, type WriteResult } from './outbox.js';
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, reactor, type Watch } from './reactor.js';

export { IncomingLine, InputBudget } from './lines.js';
export type { SendOptions } from './outbox.js';

export type LineHandler = (line: IncomingLine, conn: Connection) => void | Promise<unknown>;

/**
 * Why a connection closed. `end`: the peer finished; `local`: end() or destroy() was called;
 * `input-budget`: its unfinished line did not fit in what the shared inputBudget had left.
 */
export type CloseReason =
  'end' | 'local' | 'idle' | 'line-too-long' | 'input-budget' | 'rejected' | 'error';

/** The limits whose breach gets the peer a last line before the close. */
export type LimitReason = 'line-too-long' | 'idle' | 'too-many-connections';

export interface ConnectionOptions {
  onLine?: LineHandler;
  onClose?: (reason: CloseReason, conn: Connection, error?: Error) => void;
  /** The line sent before a close for a breached limit, e.g. a JSON-RPC error; none if omitted. */
  goodbye?: (reason: LimitReason, conn: Connection) => string | undefined;
  /** Longest line accepted, without its '\n'. Default 1 MiB. */
  maxLineBytes?: number;
  /**
   * Shared by the connections of a listener: their unfinished lines together stay within it.
   * A line that would go over is treated as a line over maxLineBytes (goodbye 'line-too-long').
   * None: each connection is bounded by maxLineBytes alone.
   */
  inputBudget?: InputBudget;
  /**
   * Room for fds in each read; more sent with one segment flags its line truncated. Default
   * SCM_MAX_FD, the most one sendmsg carries (a line with more comes in several segments).
   */
  maxFdsPerLine?: number;
  /** Close after this long with no bytes either way and no handler running; 0: never. */
  idleTimeoutMs?: number;
  /** After an overlong line (or one over the budget): close (default), or skip it, read on. */
  closeOnLongLine?: boolean;
  logger?: Logger;
}

export const DEFAULT_MAX_LINE_BYTES = 1 << 20;
const READ_SIZE = 64 * 1024;
/**
 * One read buffer for every connection: reads happen one at a time on the main thread, and the
 * splitter copies out only the unfinished line it keeps.
 */
const readBuffer = Buffer.alloc(READ_SIZE);

export class Connection {
  readonly fd: number;
  readonly peer: PeerCred;
  onLine: LineHandler;
  onClose: NonNullable<ConnectionOptions['onClose']>;
  /** Settles with the reason once the socket is closed (after onClose ran). */
  readonly finished: Promise<CloseReason>;

  private readonly options: ConnectionOptions;
  private readonly log: Logger;
  private readonly splitter: LineSplitter;
  private readonly watch: Watch;
  private readonly outbox: Outbox;
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private reading = true;
  private inRead = false;
  private ending: CloseReason | null = null;
  private closedFor: CloseReason | null = null;
  private interest = EPOLLIN;
  private settle: (reason: CloseReason) => void = () => {};

  /** Takes ownership of `fd`, a connected AF_UNIX stream socket in non-blocking mode. */
  constructor(fd: number, options: ConnectionOptions = {}) {
    this.fd = fd;
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.peer = getPeerCred(fd);
    this.onLine = options.onLine ?? (() => {});
    this.onClose = options.onClose ?? (() => {});
    this.finished = new Promise((resolve) => (this.settle = resolve));
    this.splitter = new LineSplitter(
      options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      options.inputBudget,
    );
    this.outbox = new Outbox(fd);
    this.watch = reactor().add(
      fd,
      this.interest,
      (events) => this.ready(events),
      (err) => this.failed(err),
    );

    const idle = options.idleTimeoutMs ?? 0;
    if (idle > 0) {
      this.idleTimer = setTimeout(() => this.idle(), idle);
      this.idleTimer.unref();
    }
  }

  /** Bytes of an unfinished line held for this connection. */
  get bufferedInput(): number {
    return this.splitter.buffered;
  }

  /** Whether the socket is closed. */
  get closed(): boolean {
    return this.closedFor !== null;
  }

  /**
   * Sends one line (a '\n' is added) with `fds` in the same sendmsg. Returns false when the
   * connection is closing or closed and the line was dropped.
   */
  send(line: string, fds: readonly number[] = [], options: SendOptions = {}): boolean {
    const closeFds = options.closeFds ?? false;
    // After the peer's EOF, replies still go out; after end() here, nothing new does.
    if (this.closedFor !== null || (this.ending !== null && this.ending !== 'end')) {
      if (closeFds) for (const fd of fds) closeQuietly(fd);
      options.onSent?.(false);
      return false;
    }
    if (line.includes('\n')) throw new Error('send: a line must not contain a newline');

    // Only a queue that was empty needs a flush: otherwise one is waiting for the socket.
    const idle = this.outbox.size === 0;
    this.outbox.push(Buffer.from(line + '\n'), fds, options);
    this.touch();
    if (idle) this.flush();
    return this.closedFor === null;
  }

  /** Sends the goodbye line for `reason` (if the options give one) and closes gracefully. */
  refuse(reason: LimitReason, closeReason: CloseReason): void {
    const line = this.options.goodbye?.(reason, this);
    if (line !== undefined) this.send(line);
    this.end(closeReason);
  }

  /** Stops reading, flushes what is queued, then closes. */
  end(reason: CloseReason = 'local'): void {
    if (this.closedFor !== null) return;
    this.ending ??= reason;
    this.stopReading();
    this.maybeFinish();
  }

  /** Closes now; queued lines are dropped (their fds closed if the sender asked). */
  destroy(reason: CloseReason = 'local', error?: Error): void {
    if (this.closedFor !== null) return;
    this.closedFor = reason;
    this.watch.remove();
    closeQuietly(this.fd);
    clearTimeout(this.idleTimer);
    this.splitter.dispose();
    this.outbox.drop();
    try {
      this.onClose(reason, this, error);
    } finally {
      this.settle(reason);
    }
  }

  private ready(events: number): void {
    // Reading first: a peer that answered and then closed has its answer read before a write
    // finds the socket broken.
    if (this.reading && events & (EPOLLIN | EPOLLHUP | EPOLLERR)) this.read();
    if (events & EPOLLOUT) this.flush();
    // The peer is gone entirely: nothing more can be written, so wait for nothing.
    if (events & (EPOLLHUP | EPOLLERR) && this.closedFor === null && !this.reading) {
      this.destroy(this.ending ?? 'end');
    }
  }

  /** A bug while serving this connection: log it and close this one, the others go on. */
  private failed(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.log.error('connection failed', { fd: this.fd, error: error.message, stack: error.stack });
    if (this.closedFor === null) this.destroy('error', error);
  }

  private read(): void {
    this.inRead = true;
    try {
      this.readSome();
    } finally {
      this.inRead = false;
    }
  }

  private readSome(): void {
    const maxFds = this.options.maxFdsPerLine ?? SCM_MAX_FD;
    for (;;) {
      let got;
      try {
        got = recvWithFds(this.fd, readBuffer, maxFds);
      } catch (err) {
        this.destroy('error', err as Error);
        return;
      }
      if (got === null) return;
      if (got.bytes === 0) {
        for (const fd of got.fds) closeQuietly(fd);
        this.peerEnded();
        return;
      }

      this.touch();
      const fed = this.splitter.feed(readBuffer.subarray(0, got.bytes), got.fds, got.truncated);
      for (const [i, line] of fed.entries()) {
        if (this.closedFor !== null || !this.reading) line?.closeFds();
        else if (line) this.deliver(line);
        else if (i === fed.length - 1 && this.splitter.overBudget) this.overBudget();
        else this.lineTooLong();
      }

      // A short read emptied the socket; level-triggered epoll reports anything newer.
      if (got.bytes < READ_SIZE || this.closedFor !== null || !this.reading) return;
    }
  }

  private lineTooLong(): void {
    // A client's bad input, not the daemon's trouble.
    this.log.info('line too long', { peerPid: this.peer.pid, fd: this.fd });
    this.refuseLine('line-too-long');
  }

  /**
   * Unfinished lines of all connections fill the input budget: the daemon turns clients away,
   * so a warning, once a minute (many connections are refused at once); the rest at debug.
   */
  private overBudget(): void {
    const budget = this.options.inputBudget!;
    const { warn, refusedSince } = budget.refused();
    const fields = {
      peerPid: this.peer.pid,
      fd: this.fd,
      budgetBytes: budget.limit,
      heldBytes: budget.used,
      refusedSince,
    };
    const message = 'input budget full: refused a connection with an unfinished request line';
    if (warn) this.log.warn(message, fields);
    else this.log.debug(message, fields);
    this.refuseLine('input-budget');
  }

  /** A line the splitter dropped: the goodbye, then close or (if so configured) read on. */
  private refuseLine(closeReason: CloseReason): void {
    if (this.options.closeOnLongLine ?? true) {
      this.refuse('line-too-long', closeReason);
      return;
    }
    const reply = this.options.goodbye?.('line-too-long', this);
    if (reply !== undefined) this.send(reply);
  }

  private deliver(line: IncomingLine): void {
    let result: void | Promise<unknown>;
    try {
      result = this.onLine(line, this);
    } catch (err) {
      this.log.error('line handler failed', { error: (err as Error).message, fd: this.fd });
      line.closeFds();
      return;
    }
    if (!(result instanceof Promise)) {
      line.closeFds();
      return;
    }

    this.inFlight++;
    result
      .catch((err: Error) => {
        this.log.error('line handler failed', { error: err?.message, fd: this.fd });
      })
      .finally(() => {
        line.closeFds();
        this.inFlight--;
        this.touch();
        this.maybeFinish();
      });
  }

  /** The peer shut down its side: answer what is in flight, then close. */
  private peerEnded(): void {
    const last = this.splitter.finish();
    if (last) this.deliver(last);
    this.ending ??= 'end';
    this.stopReading();
    this.maybeFinish();
  }

  private stopReading(): void {
    if (!this.reading) return;
    this.reading = false;
    this.setInterest(this.interest & ~EPOLLIN);
  }

  private maybeFinish(): void {
    if (this.closedFor !== null || this.ending === null) return;
    if (this.outbox.size === 0 && (this.inFlight === 0 || this.ending !== 'end')) {
      this.destroy(this.ending);
    }
  }

  private flush(): void {
    let result: WriteResult;
    try {
      result = this.outbox.write();
    } catch (err) {
      this.writeFailed(err as Error);
      return;
    }
    if (result === 'blocked') {
      this.setInterest(this.interest | EPOLLOUT);
      return;
    }

    if (this.closedFor === null) {
      this.setInterest(this.interest & ~EPOLLOUT);
      this.maybeFinish();
    }
  }

  /** EPIPE or ECONNRESET: what the peer sent before it went is still read, then we close. */
  private writeFailed(err: Error): void {
    if (this.reading && !this.inRead) this.read();
    this.destroy('error', err);
  }

  private setInterest(events: number): void {
    if (events === this.interest || this.closedFor !== null) return;
    this.interest = events;
    this.watch.modify(events);
  }

  private touch(): void {
    this.idleTimer?.refresh();
  }

  private idle(): void {
    if (this.closedFor !== null) return;
    if (this.inFlight > 0 || this.outbox.size > 0) {
      this.touch();
      return;
    }
    this.log.debug('connection idle', { peerPid: this.peer.pid, fd: this.fd });
    this.refuse('idle', 'idle');
  }
}
