// The client's side of the transport: connect to the daemon's socket and get the same
// Connection the daemon uses (lines with fds, SO_PEERCRED of the daemon).
//
//   const conn = await connect('/run/ttycrd/ttycrd.sock', { onLine })
//
// A socket that does not exist or that nobody listens on throws a SysError (ENOENT,
// ECONNREFUSED), which the CLI turns into exit code 69 (EX_UNAVAILABLE).

import { Connection, type ConnectionOptions } from '../daemon/server/connection.js';
import { isErrno } from '../daemon/sys/errors.js';
import { closeQuietly } from '../daemon/sys/fd.js';
import {
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  connect as connectSocket,
  socket,
  socketpair,
} from '../daemon/sys/socket.js';

export { Connection, IncomingLine } from '../daemon/server/connection.js';
export type { CloseReason, ConnectionOptions, LineHandler } from '../daemon/server/connection.js';

/**
 * The longest reply line the client takes by default: `show` and `export` of a big checkpoint
 * come as one line, and the daemon is trusted. The daemon's --max-line-bytes bounds requests.
 */
export const MAX_REPLY_BYTES = 256 << 20;

export interface ConnectOptions extends ConnectionOptions {
  /** How long to keep retrying while the daemon's backlog is full (EAGAIN). Default 5000 ms. */
  timeoutMs?: number;
}

/** Connects to `path` (or `@abstract`). */
export async function connect(path: string, options: ConnectOptions = {}): Promise<Connection> {
  const fd = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  const deadline = Date.now() + (options.timeoutMs ?? 5000);

  // A non-blocking AF_UNIX connect either completes at once or fails with EAGAIN when the
  // listener's backlog is full; it never returns EINPROGRESS. Retry the latter for a while.
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      connectSocket(fd, path);
      break;
    } catch (err) {
      if (!isErrno(err, 'EAGAIN') || Date.now() >= deadline) {
        closeQuietly(fd);
        throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }

  try {
    return new Connection(fd, { maxLineBytes: MAX_REPLY_BYTES, ...options });
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}

/** Two connected Connections in this process, for tests and in-process use. */
export function connectionPair(
  a: ConnectionOptions = {},
  b: ConnectionOptions = {},
): [Connection, Connection] {
  const [fdA, fdB] = socketpair(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  return [new Connection(fdA, a), new Connection(fdB, b)];
}
