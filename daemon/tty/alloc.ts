// Getting a pty at a given index. The kernel hands out the lowest free index, so to get index N
// we open masters until N comes up, hold the ones below it, and close those we did not want.

import { readFileSync } from 'node:fs';

import { TtycrError } from '../../rpc-schema/errors.js';
import { isErrno } from '../sys/errors.js';
import {
  closeQuietly,
  fstat,
  major,
  makedev,
  minor,
  O_CLOEXEC,
  O_PATH,
  openPath,
} from '../sys/fd.js';
import { getPtyIndex, openPtmx } from '../sys/pty.js';
import type { FdSet } from './fdset.js';
import { openInRoot, splitProcRoot } from './inroot.js';
import type { IndexPolicy } from './types.js';

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const TTYAUX_MAJOR = 5;
const PTMX_MINOR = 2;

/** The master that stands for one wanted index; `index` is what it got. */
export interface Allocated {
  fd: number;
  index: number;
}

function ptyMax(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/pty/max', 'latin1'));
  } catch {
    return 4096;
  }
}

/**
 * Opens one master for each entry of `wanted` (an index per tty; two ttys from two devpts
 * instances may want the same one), on `ptmx`. Policy exact: a taken index is INDEX_BUSY naming
 * it. Policy any: a tty whose index is taken gets the lowest free one once every free wanted
 * index is served; the master that showed the index taken stands in when no other tty wants its
 * index. Fillers (indices held only to get past them) are closed before returning; every master
 * returned is in `fds`. The result is in the order of `wanted`. Holding more than `maxPtys` at
 * once, fillers included, is LIMIT_EXCEEDED.
 */
export function allocate(
  ptmx: string,
  wanted: number[],
  policy: IndexPolicy,
  fds: FdSet,
  maxPtys = Infinity,
): Allocated[] {
  const ptmxNode = fds.add(openPtmxNode(ptmx));
  const got = new Map<number, Allocated>();
  const fillers: number[] = [];
  const busy: number[] = [];
  const max = ptyMax();
  const wantedSet = new Set(wanted);

  try {
    for (const want of [...wantedSet].sort((a, b) => a - b)) {
      if (want >= max) {
        throw new TtycrError('LIMIT_EXCEEDED', `pty index ${want} is above pty max ${max}`, {
          index: want,
        });
      }
      if (got.has(want)) continue;
      for (;;) {
        if (got.size + fillers.length >= maxPtys) {
          throw new TtycrError(
            'LIMIT_EXCEEDED',
            `pty index ${want}: getting past the taken indices below it would hold more than ` +
              `the ${maxPtys} ptys this caller may hold at once`,
            { index: want, limit: 'ptys-per-uid' },
          );
        }
        const fd = fds.add(open(ptmxNode, ptmx, want));
        const index = getPtyIndex(fd);
        if (index === want) {
          got.set(want, { fd, index });
          break;
        }
        if (index > want) {
          // The lowest free index is above the one we want: someone holds it.
          if (wantedSet.has(index)) {
            got.set(index, { fd, index });
            busy.push(want);
          } else if (policy === 'any') {
            got.set(want, { fd, index });
          } else {
            fillers.push(fd);
            busy.push(want);
          }
          break;
        }
        fillers.push(fd);
      }
    }
  } finally {
    for (const fd of fillers) fds.close(fd);
  }

  // A second tty that wants an index already served is busy too.
  const result: Allocated[] = [];
  const served = new Set<number>();
  const late: number[] = [];
  wanted.forEach((index, i) => {
    const master = got.get(index);
    if (master && !served.has(index)) {
      served.add(index);
      result[i] = master;
    } else {
      late.push(i);
      if (!busy.includes(index)) busy.push(index);
    }
  });

  if (busy.length && policy === 'exact') {
    throw new TtycrError('INDEX_BUSY', `pty index ${busy.join(', ')} is taken`, {
      index: busy[0],
      busy,
    });
  }
  for (const i of late) {
    const fd = fds.add(open(ptmxNode, ptmx, wanted[i]!));
    result[i] = { fd, index: getPtyIndex(fd) };
  }
  fds.close(ptmxNode);
  return result;
}

/**
 * The ptmx, looked up once and checked to be one (rdev 5:2), so that a path never makes the
 * daemon open another device; every master is then opened through it. A path that leads nowhere
 * or to something else is the caller's bad `ptmx` parameter (data.param), not a bad image.
 */
function openPtmxNode(ptmx: string): number {
  // A ptmx inside a task's root is looked up there, so its symlinks cannot lead elsewhere.
  const inRoot = splitProcRoot(ptmx);
  let node: number;
  try {
    node = inRoot ? openInRoot(inRoot.pid, inRoot.inner) : openPath(ptmx, O_PATH | O_CLOEXEC);
  } catch (err) {
    // ELOOP: a magic link inside a task's root, which the lookup refuses to follow.
    if (isErrno(err, 'ENOENT', 'ENOTDIR', 'ELOOP')) {
      throw new TtycrError('NOT_FOUND', `ptmx ${ptmx}: ${err.message}`, {
        param: 'ptmx',
        path: ptmx,
        errno: err.code,
      });
    }
    // A task's root the daemon may not enter (no ptrace access to that task): not permitted.
    if (isErrno(err, 'EACCES', 'EPERM')) {
      throw new TtycrError('PERMISSION_DENIED', `may not restore through ${ptmx}: ${err.message}`, {
        path: ptmx,
        errno: err.code,
      });
    }
    throw err;
  }

  const st = fstat(node);
  if ((st.mode & S_IFMT) !== S_IFCHR || st.rdev !== makedev(TTYAUX_MAJOR, PTMX_MINOR)) {
    closeQuietly(node);
    const want = `want char ${TTYAUX_MAJOR}:${PTMX_MINOR}`;
    throw new TtycrError('NOT_FOUND', `ptmx ${ptmx} is not a ptmx (${fileKind(st)}, ${want})`, {
      param: 'ptmx',
      path: ptmx,
    });
  }
  return node;
}

/** What a file is, for a message: `char 1:3`, `block 8:0`, `directory`, `regular file`. */
function fileKind(st: { mode: number; rdev: number }): string {
  const type = st.mode & S_IFMT;
  const dev = `${major(st.rdev)}:${minor(st.rdev)}`;
  if (type === S_IFCHR) return `char ${dev}`;
  if (type === S_IFBLK) return `block ${dev}`;
  if (type === S_IFDIR) return 'directory';
  return type === S_IFREG ? 'regular file' : 'not a device';
}

function open(node: number, ptmx: string, wanted: number): number {
  try {
    return openPtmx(`/proc/self/fd/${node}`);
  } catch (err) {
    if (isErrno(err, 'ENOSPC')) {
      throw new TtycrError('INDEX_BUSY', `no pty free on ${ptmx} for index ${wanted}: ENOSPC`, {
        index: wanted,
        errno: 'ENOSPC',
      });
    }
    throw err;
  }
}
