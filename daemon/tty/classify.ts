// Which kind of tty a device number is. The one place that looks at majors and minors; every
// other part of the engine asks for the driver this returns.

import { readFileSync } from 'node:fs';

import { major, minor } from '../sys/fd.js';

export type TtyClass = 'ptmx' | 'pts' | 'ctty' | 'console' | 'vt' | 'serial';

// include/uapi/linux/major.h
const TTY_MAJOR = 4;
const TTYAUX_MAJOR = 5;
const UNIX98_PTY_MASTER_MAJOR = 128;
const UNIX98_PTY_SLAVE_MAJOR = 136;
const UNIX98_PTY_MAJOR_COUNT = 8;

let ttyMajors: Set<number> | null = null;

/** Majors of every tty driver the kernel has registered (/proc/tty/drivers), read once. */
function registeredTtyMajors(): Set<number> {
  if (ttyMajors) return ttyMajors;
  ttyMajors = new Set();
  try {
    for (const line of readFileSync('/proc/tty/drivers', 'latin1').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields.length >= 5) ttyMajors.add(Number(fields[2]));
    }
  } catch {
    // Without /proc/tty/drivers only the well-known majors below are recognised.
  }
  return ttyMajors;
}

/** The kind of tty an rdev is, or null when it is not a tty at all. */
export function classifyRdev(rdev: number): TtyClass | null {
  const maj = major(rdev);
  const min = minor(rdev);
  if (maj === TTYAUX_MAJOR) {
    if (min === 0) return 'ctty';
    if (min === 1) return 'console';
    if (min === 2) return 'ptmx';
    return null;
  }
  if (maj >= UNIX98_PTY_MASTER_MAJOR && maj < UNIX98_PTY_MASTER_MAJOR + UNIX98_PTY_MAJOR_COUNT) {
    return 'ptmx';
  }
  if (maj >= UNIX98_PTY_SLAVE_MAJOR && maj < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT) {
    return 'pts';
  }
  if (maj === TTY_MAJOR) return min < 64 ? 'vt' : 'serial';
  return registeredTtyMajors().has(maj) ? 'serial' : null;
}

/** The pts index of a slave's rdev: devpts makes MKDEV(136, index), index up to 2^20. */
export function ptsIndex(rdev: number): number {
  return (major(rdev) - UNIX98_PTY_SLAVE_MAJOR) * 256 + minor(rdev);
}
