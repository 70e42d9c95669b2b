// What /proc says about a task: its place in sessions and process groups, its children, its fds.

import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

import { TtycrError } from '../../rpc-schema/errors.js';

export interface TaskStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** dev_t of the controlling tty, 0 for none. */
  ttyNr: number;
  /** Foreground process group of the controlling tty, -1 for none. */
  tpgid: number;
}

/** Parses /proc/PID/stat; comm may hold spaces and parentheses, so split after the last ')'. */
export function readTaskStat(pid: number): TaskStat {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    throw procError(err, pid, 'stat');
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0]!,
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    ttyNr: Number(rest[4]),
    tpgid: Number(rest[5]),
  };
}

export interface TaskCreds {
  /** Real, effective, saved and filesystem uid, in that order. */
  uids: number[];
  /** Real, effective, saved and filesystem gid, in that order. */
  gids: number[];
}

/** The Uid and Gid lines of /proc/PID/status; a line that is missing gives an empty list. */
export function readTaskCreds(pid: number): TaskCreds {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch (err) {
    throw procError(err, pid, 'status');
  }

  const ids = (name: string): number[] => {
    const line = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
    return line ? line[1]!.trim().split(/\s+/).map(Number) : [];
  };
  return { uids: ids('Uid'), gids: ids('Gid') };
}

/** Direct children of every thread of a task. */
export function readChildren(pid: number): number[] {
  const children: number[] = [];
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of threads) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
      if (text) for (const child of text.split(' ')) children.push(Number(child));
    } catch {
      // The thread exited while we looked: it has no children left to miss.
    }
  }
  return children;
}

/** The thread ids of a task, its own pid first; none once it is gone. */
export function readThreads(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => (a === pid ? -1 : b === pid ? 1 : a - b));
  } catch {
    return [];
  }
}

/** The task and all its descendants, parents before children. */
export function readTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...readChildren(tree[i]!));
  return tree;
}

/** The fd numbers a task has open, ascending. */
export function readFdNumbers(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    throw procError(err, pid, 'fd');
  }
  return names.map(Number).sort((a, b) => a - b);
}

/**
 * The rdev of what a task's fd points at, through the /proc magic link (a stat, not an open:
 * opening /proc/PID/fd/N of a master would make a new pty). 0 for anything but a char device,
 * and for an fd closed meanwhile. Following the link needs ptrace access to the task, which even
 * root can lack (a task with capabilities the daemon has not): that is PERMISSION_DENIED.
 */
export function readFdRdev(pid: number, fd: number): number {
  let st;
  try {
    st = statSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false });
  } catch (err) {
    throw fdError(err, pid, fd, 'stat', `/proc/${pid}/fd/${fd}`);
  }
  return st?.isCharacterDevice() ? st.rdev : 0;
}

export interface FdInfo {
  pos: number;
  /** Open flags, with O_CLOEXEC set when the fd (not the open file) is close-on-exec. */
  flags: number;
}

/** The fd's position and flags, or null when the fd was closed meanwhile. */
export function readFdInfo(pid: number, fd: number): FdInfo | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
  } catch (err) {
    // A tty fd skipped because it could not be read would be missing from the image unsaid.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fdError(err, pid, fd, 'read', `/proc/${pid}/fdinfo/${fd}`);
  }
  const pos = /^pos:\s+(\d+)/m.exec(text);
  const flags = /^flags:\s+([0-7]+)/m.exec(text);
  return { pos: Number(pos?.[1] ?? 0), flags: parseInt(flags?.[1] ?? '0', 8) };
}

/** The target of a task's fd link, as the task sees it (`/dev/pts/3`, `/dev/ptmx`). */
export function readFdPath(pid: number, fd: number): string {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return '';
  }
}

/** The error for a look at one fd of a task in /proc that failed, but not with ENOENT. */
function fdError(err: unknown, pid: number, fd: number, call: string, path: string): TtycrError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const message = `${call} ${path}: ${code}`;
  if (code === 'ESRCH') return new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`, { pid });
  if (code === 'EACCES' || code === 'EPERM') {
    const denied = `may not look at fd ${fd} of pid ${pid}: ${message}`;
    return new TtycrError('PERMISSION_DENIED', denied, { pid, fd, errno: code });
  }
  return new TtycrError('SYSCALL_FAILED', message, { pid, fd, errno: code });
}

/**
 * The error for a /proc read of a task that failed: the task is gone (ENOENT, ESRCH), the caller
 * may not look (EACCES, EPERM), or anything else, named with its path and errno.
 */
function procError(err: unknown, pid: number, entry: string): TtycrError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  if (code === 'ENOENT' || code === 'ESRCH') {
    return new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`, { pid });
  }
  const message = `read /proc/${pid}/${entry}: ${code}`;
  if (code === 'EACCES' || code === 'EPERM') {
    return new TtycrError('PERMISSION_DENIED', message, { pid, errno: code });
  }
  return new TtycrError('SYSCALL_FAILED', message, { pid, errno: code });
}
