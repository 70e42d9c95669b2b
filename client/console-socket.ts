// Hands a restored pty master to a runc-style console socket (DESIGN 5): one stream
// connection to the socket, one sendmsg whose payload is a name and whose SCM_RIGHTS carry the
// one fd, as runc's --console-socket does, so conmon, containerd shims and other consumers of
// that protocol take a restored terminal unchanged.
//
//   const sent = await sendClaimedMaster(client, restoreId, '/run/shim/console.sock');

import { constants } from 'node:os';

import { SysError } from '../daemon/sys/errors.js';
import { closeQuietly } from '../daemon/sys/fd.js';
import { getPtyIndex } from '../daemon/sys/pty.js';
import { sendWithFds } from '../daemon/sys/scm.js';
import { connect, SOCK_CLOEXEC, SOCK_STREAM, socket } from '../daemon/sys/socket.js';
import type { TtycrClient } from './client.js';
import { UsageError } from './errors.js';

/**
 * Connects to the unix stream socket at `path`, sends `fd` with `name` as the payload in one
 * sendmsg, and closes the connection. The caller keeps (and still owns) `fd`.
 */
export function sendConsoleFd(path: string, fd: number, name: string): void {
  const conn = socket(SOCK_STREAM | SOCK_CLOEXEC);
  try {
    connect(conn, path);

    // A few bytes on a fresh connection always fit its buffer: null (EAGAIN) cannot happen
    // unless the receiver is not a console socket at all.
    const payload = Buffer.from(name);
    const sent = sendWithFds(conn, [payload], [fd]);
    if (sent === null) throw new SysError('sendmsg', constants.errno.EAGAIN, path);
    if (sent !== payload.length) {
      throw new Error(`console socket ${path}: sent ${sent} of ${payload.length} bytes`);
    }
  } finally {
    closeQuietly(conn);
  }
}

export interface ConsoleSent {
  restore: string;
  task: number;
  /** The original fd number of the master in the task (-1 for the console's). */
  fd: number;
  /** The pty's index now, N in /dev/pts/N of the devpts instance restored into. */
  index: number;
  /** The payload sent with the fd: the restored pts path. */
  name: string;
  socket: string;
}

export interface ConsoleOptions {
  /** The task whose master to send; default 0, the console. */
  task?: number;
  /** Which master, by original fd number, when the task held several; default the first. */
  fd?: number;
  /** The payload; default the restored pts path (runc sends the master's name, /dev/ptmx). */
  name?: string;
}

/**
 * Claims a task's fds, sends one pty master to the console socket at `path`, and closes every
 * fd of the claim in this process: the consumer holds the master from then on.
 */
export async function sendClaimedMaster(
  client: TtycrClient,
  restoreId: string,
  path: string,
  options: ConsoleOptions = {},
): Promise<ConsoleSent> {
  const task = options.task ?? 0;
  // The restore's table names the path of each restored pts; ask before the claim.
  const listed = await client.restoreList();
  const { result, fds } = await client.claim(restoreId, task);

  try {
    const at = result.fds.findIndex(
      (entry) => entry.end === 'master' && (options.fd === undefined || entry.fd === options.fd),
    );
    if (at < 0) {
      const which =
        options.fd === undefined ? 'no pty master' : `no pty master at fd ${options.fd}`;
      throw new UsageError(`task ${task} of ${restoreId} has ${which}`);
    }

    const entry = result.fds[at]!;
    const master = fds[at]!;
    const index = getPtyIndex(master);
    const restored = listed.restores
      .find((r) => r.id === restoreId)
      ?.ttys.find((tty) => tty.id === entry.tty);
    const name = options.name ?? restored?.path ?? `/dev/pts/${index}`;

    sendConsoleFd(path, master, name);
    return { restore: restoreId, task, fd: entry.fd, index, name, socket: path };
  } finally {
    for (const fd of fds) closeQuietly(fd);
  }
}
