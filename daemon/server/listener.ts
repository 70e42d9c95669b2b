// Listener: accepts connections on an AF_UNIX stream socket and makes each a Connection.
//
//   const l = Listener.listen('/run/ttycrd/ttycrd.sock', { gid, onConnection, ...limits })
//   const l = Listener.adopt(3, { onConnection })           // an fd from socket activation
//   l.connections                                            // the open ones
//   await l.close()   // stop accepting, remove the socket file it made, close connections
//
// listen() removes a stale socket file only when nothing answers on it, and sets the mode and
// group before listen(2), so no one connects through wider permissions. Over maxConnections a
// new connection is accepted, sent the goodbye('too-many-connections') line and closed. The
// connections share one InputBudget for their unfinished lines (maxBufferedInputBytes).

import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';

import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { SysError, isErrno } from '../sys/errors.js';
import { O_NONBLOCK, closeQuietly, getfl, setfl } from '../sys/fd.js';
import {
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  accept,
  bind,
  connect,
  listen,
  socket,
} from '../sys/socket.js';
import { Connection, type ConnectionOptions, DEFAULT_MAX_LINE_BYTES } from './connection.js';
import { InputBudget } from './lines.js';
import { EPOLLIN, reactor, type Watch } from './reactor.js';
import { UidCounts } from './uid-counts.js';

export interface ListenerOptions extends ConnectionOptions {
  /** Called for each accepted connection before any of its lines is read. */
  onConnection: (conn: Connection) => void;
  /**
   * Open connections at most; more are refused. Default 1024. Root may always use all of them;
   * anyone else together only all but a sixteenth, and one uid half, so that no user can lock
   * the others, and root above all, out of the daemon.
   */
  maxConnections?: number;
  /**
   * Bytes of unfinished lines all connections together may hold; a connection whose line would
   * go over is refused like one over maxLineBytes. Default DEFAULT_MAX_BUFFERED_INPUT_BYTES, or
   * maxLineBytes if that is more, so that one connection alone can always send a whole line.
   */
  maxBufferedInputBytes?: number;
  /** Socket file mode. Default 0o660. */
  mode?: number;
  /** Group to give the socket file; unchanged if omitted. */
  gid?: number;
  /** How long close() lets connections flush before it cuts them. Default 1000 ms. */
  closeGraceMs?: number;
  logger?: Logger;
}

/**
 * 64 MiB: room for 64 requests of the default 1 MiB line limit on their way in at once, far more
 * than clients send (most requests are a few hundred bytes and arrive in one read, never held),
 * while 1024 connections each holding a nearly full line would otherwise cost 1 GiB.
 */
export const DEFAULT_MAX_BUFFERED_INPUT_BYTES = 64 << 20;

const BACKLOG = 4096;
const ACCEPTS_PER_WAKEUP = 64;
/** After EMFILE or ENFILE: stop accepting for a moment rather than spin on a ready socket. */
const ACCEPT_PAUSE_MS = 100;
/** Refused connections are warned about at most once in this long; the rest go to debug. */
const REFUSAL_WARNING_MS = 60_000;

export class Listener {
  readonly fd: number;
  /** The socket file this listener created and removes on close; null for an adopted fd. */
  readonly path: string | null;
  readonly connections = new Set<Connection>();
  /** What the unfinished lines of all connections hold, and may hold. */
  readonly inputBudget: InputBudget;

  private readonly options: ListenerOptions;
  /** The options each Connection is made with: the listener's, and the shared budget. */
  private readonly connectionOptions: ConnectionOptions;
  private readonly log: Logger;
  private watch: Watch | null;
  private closing: Promise<void> | null = null;
  private lastRefusalWarning = -Infinity;
  private refusedSince = 0;
  /** Open connections per uid. */
  private readonly perUid = new UidCounts();

  private constructor(fd: number, path: string | null, options: ListenerOptions) {
    this.fd = fd;
    this.path = path;
    this.options = options;
    this.log = options.logger ?? silentLogger;
    this.inputBudget = new InputBudget(
      options.maxBufferedInputBytes ??
        Math.max(DEFAULT_MAX_BUFFERED_INPUT_BYTES, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES),
    );
    this.connectionOptions = { ...options, inputBudget: this.inputBudget };
    // A bug while admitting one connection is logged; the listener keeps accepting.
    this.watch = reactor().add(
      fd,
      EPOLLIN,
      () => this.acceptSome(),
      (err) => this.log.error('accept handler failed', { fd, error: String(err) }),
    );
  }

  /** Binds and listens on `path`. */
  static listen(path: string, options: ListenerOptions): Listener {
    removeStaleSocket(path);

    const fd = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    try {
      bind(fd, path);
      if (!path.startsWith('@')) {
        chmodSync(path, options.mode ?? 0o660);
        if (options.gid !== undefined) chownSync(path, -1, options.gid);
      }
      listen(fd, BACKLOG);
    } catch (err) {
      closeQuietly(fd);
      if (!path.startsWith('@') && !isErrno(err, 'EADDRINUSE')) unlinkQuietly(path);
      throw err;
    }
    return new Listener(fd, path.startsWith('@') ? null : path, options);
  }

  /**
   * Takes over a socket that is already bound and listening (LISTEN_FDS). systemd passes it in
   * blocking mode unless NonBlocking= says otherwise; the accept loop needs it non-blocking.
   */
  static adopt(fd: number, options: ListenerOptions): Listener {
    setfl(fd, getfl(fd) | O_NONBLOCK);
    return new Listener(fd, null, options);
  }

  /** Stops accepting, removes the socket file, and ends every connection (flushing first). */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.watch?.remove();
    this.watch = null;
    closeQuietly(this.fd);
    if (this.path) unlinkQuietly(this.path);

    const open = [...this.connections];
    const closed = open.map((conn) => conn.finished);
    for (const conn of open) conn.end();

    const grace = setTimeout(() => {
      for (const conn of this.connections) conn.destroy();
    }, this.options.closeGraceMs ?? 1000);
    await Promise.all(closed);
    clearTimeout(grace);
  }

  private acceptSome(): void {
    for (let i = 0; i < ACCEPTS_PER_WAKEUP && this.watch; i++) {
      let fd: number | null;
      try {
        fd = accept(this.fd);
      } catch (err) {
        if (isErrno(err, 'ECONNABORTED')) continue;
        this.log.warn('accept failed', { error: (err as Error).message });
        if (isErrno(err, 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM')) this.pause();
        return;
      }
      if (fd === null) return;
      this.admit(fd);
    }
  }

  private admit(fd: number): void {
    let conn: Connection;
    try {
      conn = new Connection(fd, this.connectionOptions);
    } catch (err) {
      // The peer may already be gone (getsockopt fails on a reset socket).
      closeQuietly(fd);
      this.log.debug('connection dropped at accept', { error: (err as Error).message });
      return;
    }

    const { uid } = conn.peer;
    if (!this.hasRoomFor(uid)) {
      this.refusedWarning(conn.peer.pid, uid);
      conn.refuse('too-many-connections', 'rejected');
      return;
    }

    this.connections.add(conn);
    this.perUid.add(uid);
    void conn.finished.then(() => {
      this.connections.delete(conn);
      this.perUid.remove(uid);
    });
    this.options.onConnection(conn);
  }

  private hasRoomFor(uid: number): boolean {
    const max = this.options.maxConnections ?? 1024;
    const open = this.connections.size;
    if (uid === 0) return open < max;
    const others = open - this.perUid.of(0);
    const forUsers = max - Math.floor(max / 16);
    const perUser = Math.max(1, Math.floor(max / 2));
    return open < max && others < forUsers && this.perUid.of(uid) < perUser;
  }

  /** A warning for the first refusal in each minute; the rest of that minute at debug. */
  private refusedWarning(peerPid: number, peerUid: number): void {
    const now = Date.now();
    const open = this.connections.size;
    const ofUid = this.perUid.of(peerUid);
    if (now - this.lastRefusalWarning < REFUSAL_WARNING_MS) {
      this.refusedSince++;
      this.log.debug('too many connections', { peerPid, peerUid, open, ofUid });
      return;
    }
    this.log.warn('too many connections', {
      peerPid,
      peerUid,
      open,
      ofUid,
      refusedSince: this.refusedSince,
    });
    this.lastRefusalWarning = now;
    this.refusedSince = 0;
  }

  private pause(): void {
    this.watch?.modify(0);
    setTimeout(() => this.watch?.modify(EPOLLIN), ACCEPT_PAUSE_MS).unref();
  }
}

/** A socket file nobody answers on is left from a daemon that died; anything else stays. */
function removeStaleSocket(path: string): void {
  if (path.startsWith('@')) return;
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) return;

  // EAGAIN (a full backlog) means someone listens as much as a connect that succeeds does.
  const probe = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  try {
    connect(probe, path);
  } catch (err) {
    if (!isErrno(err, 'ECONNREFUSED', 'EAGAIN')) throw err;
    if (isErrno(err, 'ECONNREFUSED')) {
      unlinkQuietly(path);
      return;
    }
  } finally {
    closeQuietly(probe);
  }
  throw new SysError('bind', constants.errno.EADDRINUSE, `${path}: a daemon answers on it`);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
