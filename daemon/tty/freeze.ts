// Stopping tasks for a consistent dump, and letting them go again (or killing them).

import { TtycrError } from '../../rpc-schema/errors.js';
import { closeQuietly, POLLIN, pollOne } from '../sys/fd.js';
import { pidfdOpen } from '../sys/pidfd.js';
import { readTaskStat } from './proc.js';

const STOP_WAIT_MS = 2000;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`);
    throw new TtycrError('PERMISSION_DENIED', `kill ${sig} pid ${pid}: ${code}`, { errno: code });
  }
}

/**
 * SIGSTOPs every task and waits until /proc shows each stopped, so nothing reads or writes its
 * ttys while they are dumped. A task that is not stopped in time fails the dump.
 */
export async function freeze(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGSTOP');
  const deadline = Date.now() + STOP_WAIT_MS;
  for (const pid of pids) {
    while (!isStopped(pid)) {
      if (Date.now() > deadline) {
        throw new TtycrError('BUSY', `freeze: pid ${pid} did not stop within ${STOP_WAIT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

function isStopped(pid: number): boolean {
  const state = readTaskStat(pid).state;
  return state === 'T' || state === 't' || state === 'Z' || state === 'X';
}

/** SIGCONTs every task that still exists. */
export function thaw(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone already: nothing to resume.
    }
  }
}

/**
 * SIGKILLs every task (one already gone is fine) and waits, up to STOP_WAIT_MS, until each has
 * exited: its files are closed by then, so a restore right after finds the pty index free.
 */
export async function kill(pids: number[]): Promise<void> {
  const pidfds: number[] = [];
  for (const pid of pids) {
    try {
      pidfds.push(pidfdOpen(pid));
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }

  // A pidfd turns readable once its process has exited.
  const deadline = Date.now() + STOP_WAIT_MS;
  try {
    for (const pidfd of pidfds) {
      while (pollOne(pidfd, POLLIN, 0) === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  } finally {
    for (const pidfd of pidfds) closeQuietly(pidfd);
  }
}
