// Collecting: every tty fd the tasks hold, taken with pidfd_getfd and grouped into open file
// descriptions (dups share one) and into ttys (a master and its pts are one tty).

import { TtycrError } from '../../rpc-schema/errors.js';
import { isErrno } from '../sys/errors.js';
import { closeQuietly, fstat, O_CLOEXEC, O_PATH } from '../sys/fd.js';
import { compareOpenFiles, pidfdGetfd } from '../sys/pidfd.js';
import { getPtyIndex, openPeer } from '../sys/pty.js';
import { getTtyDevice } from '../sys/termios.js';
import { classifyRdev, ptsIndex, type TtyClass } from './classify.js';
import type { FdSet } from './fdset.js';
import { openInRoot } from './inroot.js';
import { type FdInfo, readFdInfo, readFdNumbers, readFdPath, readFdRdev } from './proc.js';

/** One fd of one task. */
export interface Holder {
  pid: number;
  fd: number;
  cloexec: boolean;
}

/** One open file description the tasks hold, with a daemon fd on it. */
export interface HeldFile {
  fd: number;
  end: 'master' | 'slave' | 'ctty';
  flags: number;
  pos: number;
  holders: Holder[];
}

/** One pty, found through any of its ends. */
export interface HeldPty {
  devpts: number;
  index: number;
  /** The master's path as its holder sees it (/dev/ptmx, /dev/pts/ptmx). */
  ptmx: string;
  masters: HeldFile[];
  /** pts files, and /dev/tty files on this pts (end 'ctty'). */
  slaves: HeldFile[];
}

/**
 * Takes every tty fd of the tasks into the daemon. Non-tty fds are ignored; a tty kind without a
 * driver yet is refused, never skipped. Every daemon fd goes into `fds`.
 */
export function collect(
  pids: number[],
  pidfdOf: (pid: number) => number,
  fds: FdSet,
): Map<string, HeldPty> {
  const ptys = new Map<string, HeldPty>();
  for (const pid of pids) collectTask(pid, pidfdOf(pid), fds, ptys);
  for (const [key, pty] of ptys) {
    pty.masters = mergeOpenFiles(pty.masters, fds);
    pty.slaves = mergeOpenFiles(pty.slaves, fds);
    // Names of a pts with no open file of the set behind them: nothing to checkpoint.
    if (!pty.masters.length && !openSlave(pty)) {
      for (const file of pty.slaves) fds.close(file.fd);
      ptys.delete(key);
    }
  }
  return ptys;
}

function collectTask(pid: number, pidfd: number, fds: FdSet, ptys: Map<string, HeldPty>) {
  for (const n of readFdNumbers(pid)) {
    const rdev = readFdRdev(pid, n);
    const kind = rdev === 0 ? null : classifyRdev(rdev);
    if (kind === null) continue;
    if (kind !== 'ptmx' && kind !== 'pts' && kind !== 'ctty') refuse(pid, n, kind);

    // An O_PATH fd opened no tty: on ptmx or /dev/tty it is only a name. On a pts it names
    // the node, which a restore can name again (an O_PATH peer), so it is kept.
    const info = readFdInfo(pid, n);
    if (info === null || (info.flags & O_PATH && kind !== 'pts')) continue;

    // The fd may have been closed and its number reused since the stat: check what we took.
    const ours = fds.add(getfd(pidfd, pid, n));
    if (fstat(ours).rdev !== rdev) {
      fds.close(ours);
      continue;
    }
    addFile(pid, n, kind, info, ours, ptys);
  }
}

function addFile(
  pid: number,
  n: number,
  kind: 'ptmx' | 'pts' | 'ctty',
  info: FdInfo,
  ours: number,
  ptys: Map<string, HeldPty>,
): void {
  const file: HeldFile = {
    fd: ours,
    end: kind === 'ptmx' ? 'master' : kind === 'pts' ? 'slave' : 'ctty',
    flags: info.flags & ~O_CLOEXEC,
    pos: info.pos,
    holders: [{ pid, fd: n, cloexec: (info.flags & O_CLOEXEC) !== 0 }],
  };

  const { devpts, index } =
    kind === 'ptmx'
      ? locateMaster(ours)
      : kind === 'pts'
        ? locateSlave(ours)
        : locateCtty(pid, n, ours, ptys);
  const key = `${devpts}:${index}`;
  let pty = ptys.get(key);
  if (!pty) {
    pty = { devpts, index, ptmx: '/dev/ptmx', masters: [], slaves: [] };
    ptys.set(key, pty);
  }
  if (kind === 'ptmx') {
    pty.masters.push(file);
    pty.ptmx = readFdPath(pid, n) || pty.ptmx;
  } else {
    pty.slaves.push(file);
  }
}

/** The first pts file that is an open tty (not an O_PATH name), to read state through. */
export function openSlave(pty: HeldPty): HeldFile | undefined {
  return pty.slaves.find((f) => !(f.flags & O_PATH));
}

/** A master's index and devpts instance: the instance is that of its pts node (O_PATH peer). */
function locateMaster(fd: number): { devpts: number; index: number } {
  const index = getPtyIndex(fd);
  const peer = openPeer(fd, O_PATH);
  try {
    return { devpts: fstat(peer).dev, index };
  } finally {
    closeQuietly(peer);
  }
}

/**
 * A /dev/tty fd stands for the task's controlling tty: TIOCGDEV names the tty behind it, and the
 * pts node of that index in the task's own /dev/pts tells its devpts instance.
 */
function locateCtty(pid: number, n: number, fd: number, ptys: Map<string, HeldPty>) {
  const rdev = getTtyDevice(fd);
  if (classifyRdev(rdev) !== 'pts') refuse(pid, n, 'ctty', 'a /dev/tty fd on a non-pty tty');
  const index = ptsIndex(rdev);
  const node = ptsNodeInRoot(pid, index);
  if (node?.rdev === rdev) return { devpts: node.dev, index };
  const known = [...ptys.values()].find((p) => p.index === index);
  return { devpts: known?.devpts ?? 0, index };
}

/** The fstat of /dev/pts/N in the task's root, or null when there is none. */
export function ptsNodeInRoot(pid: number, index: number) {
  let name: number;
  try {
    name = openInRoot(pid, `/dev/pts/${index}`);
  } catch {
    return null;
  }
  try {
    return fstat(name);
  } finally {
    closeQuietly(name);
  }
}

function locateSlave(fd: number): { devpts: number; index: number } {
  const st = fstat(fd);
  return { devpts: st.dev, index: ptsIndex(st.rdev) };
}

/**
 * Folds fds that share one open file description (dup, fork, SCM_RIGHTS) into one entry with
 * several holders, keeping one daemon fd for it. kcmp says whether two files are the same.
 */
function mergeOpenFiles(files: HeldFile[], fds: FdSet): HeldFile[] {
  if (files.length < 2) return files;
  const merged: HeldFile[] = [];
  for (const file of files) {
    const same = merged.find((m) => compareOpenFiles(m.fd, file.fd) === 0);
    if (!same) {
      merged.push(file);
      continue;
    }
    same.holders.push(...file.holders);
    fds.close(file.fd);
  }
  return merged;
}

function getfd(pidfd: number, pid: number, n: number): number {
  try {
    return pidfdGetfd(pidfd, n, pid);
  } catch (err) {
    if (isErrno(err, 'EPERM', 'EACCES')) {
      throw new TtycrError('PERMISSION_DENIED', `take fd ${n} of pid ${pid}: ${err.code}`, {
        errno: err.code,
      });
    }
    if (isErrno(err, 'ESRCH')) throw new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`);
    throw err;
  }
}

function refuse(pid: number, fd: number, kind: TtyClass, what: string = kind): never {
  const path = readFdPath(pid, fd);
  throw new TtycrError(
    'UNSUPPORTED_TTY',
    `pid ${pid} fd ${fd} (${path}): ${what} is not supported yet`,
    { pid, fd, path, kind },
  );
}
