// systemd integration without libsystemd: socket activation (sd_listen_fds) and the notify
// protocol (sd_notify), over the project's own socket calls.
//
//   listenFds(): ListenFd[]        fds passed by systemd, from 3; the variables are removed
//   notify('READY=1'): boolean     a datagram to NOTIFY_SOCKET; false (no-op) without it
//   startWatchdog(): () => void    WATCHDOG=1 at half of WATCHDOG_USEC; returns a stop function

import { constants } from 'node:os';

import { SysError } from '../sys/errors.js';
import { FD_CLOEXEC, closeQuietly, getfd, setfd } from '../sys/fd.js';
import { SOCK_CLOEXEC, SOCK_DGRAM, sendto, socket } from '../sys/socket.js';

/** SD_LISTEN_FDS_START: systemd passes its fds from 3 up. */
const LISTEN_FDS_START = 3;

export interface ListenFd {
  fd: number;
  /** The name from LISTEN_FDNAMES (FileDescriptorName=), or 'unknown' as sd_listen_fds says. */
  name: string;
}

type Env = NodeJS.ProcessEnv;

/**
 * The fds systemd passed to this process, or [] when none were (or they were meant for another
 * process: LISTEN_PID differs). Each fd is made close-on-exec, and LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are removed from `env` so that children do not take the fds for theirs.
 */
export function listenFds(env: Env = process.env, pid = process.pid): ListenFd[] {
  const listenPid = env.LISTEN_PID;
  const count = env.LISTEN_FDS;
  const names = env.LISTEN_FDNAMES?.split(':') ?? [];
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;

  if (listenPid === undefined || count === undefined) return [];
  if (!/^\d+$/.test(listenPid) || Number(listenPid) !== pid) return [];
  if (!/^\d+$/.test(count)) throw new Error(`LISTEN_FDS is not a number: ${count}`);

  const fds: ListenFd[] = [];
  for (let i = 0; i < Number(count); i++) {
    const fd = LISTEN_FDS_START + i;
    setfd(fd, getfd(fd) | FD_CLOEXEC);
    fds.push({ fd, name: names[i] || 'unknown' });
  }
  return fds;
}

/**
 * Sends `state` (newline-separated assignments such as `READY=1\nSTATUS=serving`) to
 * NOTIFY_SOCKET, a path or an abstract `@name`. Returns false when there is no such variable.
 * Failures throw a SysError: the caller decides whether a lost notification matters.
 */
export function notify(state: string, env: Env = process.env): boolean {
  const address = env.NOTIFY_SOCKET;
  if (!address) return false;
  if (!address.startsWith('/') && !address.startsWith('@')) {
    throw new SysError(
      'sendto',
      constants.errno.EINVAL,
      `NOTIFY_SOCKET ${address}: not a path or @name`,
    );
  }

  const fd = socket(SOCK_DGRAM | SOCK_CLOEXEC);
  try {
    sendto(fd, Buffer.from(state), address);
  } finally {
    closeQuietly(fd);
  }
  return true;
}

/**
 * Starts sending WATCHDOG=1 at half of WATCHDOG_USEC, when it is set and WATCHDOG_PID (if set)
 * is this process. The timer does not keep the process alive. Returns the function that stops
 * it; `onError` hears about a failed send (the next tick tries again).
 */
export function startWatchdog(
  onError: (err: Error) => void = () => {},
  env: Env = process.env,
  pid = process.pid,
): () => void {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return () => {};
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return () => {};

  const ping = () => {
    try {
      notify('WATCHDOG=1', env);
    } catch (err) {
      onError(err as Error);
    }
  };
  ping();
  const timer = setInterval(ping, Math.max(1, Math.floor(usec / 2000)));
  timer.unref();
  return () => clearInterval(timer);
}
