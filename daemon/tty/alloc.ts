// Getting a pty at a given index. The kernel hands out the lowest free index, so to get index N
// we open masters until N comes up, hold the ones below it, and close those we did not want.

import { readFileSync } from 'node:fs';

import { TtycrError } from '../../rpc-schema/errors.js';
import { isErrno } from '../sys/errors.js';
import { getPtyIndex, openPtmx } from '../sys/pty.js';
import type { FdSet } from './fdset.js';
import type { IndexPolicy } from './types.js';

export interface Allocated {
  /** Wanted index → the master that has it (or, under policy any, the one that stands in). */
  masters: Map<number, { fd: number; index: number }>;
}

function ptyMax(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/pty/max', 'latin1'));
  } catch {
    return 4096;
  }
}

/**
 * Opens one master for each wanted index on `ptmx`. Policy exact: a taken index is INDEX_BUSY
 * naming it. Policy any: the ptys whose index is taken get the lowest free ones, after every
 * free wanted index is served: the master that showed the index taken stands in when no other pty
 * wants its index. Fillers (indices held only to get past them) are closed before
 * returning; every master returned is in `fds`.
 */
export function allocate(ptmx: string, wanted: number[], policy: IndexPolicy, fds: FdSet) {
  const masters = new Map<number, { fd: number; index: number }>();
  const fillers: number[] = [];
  const busy: number[] = [];
  const max = ptyMax();
  const wantedSet = new Set(wanted);
  const sorted = [...wantedSet].sort((a, b) => a - b);

  try {
    for (const index of sorted) {
      if (index >= max) {
        throw new TtycrError('INDEX_BUSY', `pty index ${index} is above pty max ${max}`, { index });
      }
      if (masters.has(index)) continue;
      for (;;) {
        const fd = fds.add(open(ptmx, index));
        const got = getPtyIndex(fd);
        if (got === index) {
          masters.set(index, { fd, index });
          break;
        }
        if (got > index) {
          // The lowest free index is above the one we want: someone holds it.
          if (wantedSet.has(got)) {
            masters.set(got, { fd, index: got });
            busy.push(index);
          } else if (policy === 'any') {
            masters.set(index, { fd, index: got });
          } else {
            fillers.push(fd);
            busy.push(index);
          }
          break;
        }
        fillers.push(fd);
      }
    }
  } finally {
    for (const fd of fillers) fds.close(fd);
  }

  if (busy.length && policy === 'exact') {
    const list = busy.join(', ');
    throw new TtycrError('INDEX_BUSY', `pty index ${list} is taken`, {
      index: busy[0],
      busy,
    });
  }
  for (const index of busy) {
    const fd = fds.add(open(ptmx, index));
    masters.set(index, { fd, index: getPtyIndex(fd) });
  }
  return { masters } satisfies Allocated;
}

function open(ptmx: string, wanted: number): number {
  try {
    return openPtmx(ptmx);
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
