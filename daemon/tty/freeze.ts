// Stopping tasks for a consistent dump, and letting them go again (or killing them).

import { TtycrError } from '../../rpc-schema/errors.js';
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

/** SIGKILLs every task; one that is already gone is fine. */
export function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}
