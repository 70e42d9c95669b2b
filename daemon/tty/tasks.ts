// The tasks of one dump, each pinned by a pidfd from the moment it is found: every signal goes
// through that pidfd, so a pid that is reused meanwhile is never stopped, resumed or killed.

import { constants } from 'node:os';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Logger } from '../log.js';
import { isErrno } from '../sys/errors.js';
import { closeQuietly, POLLIN, pollOne } from '../sys/fd.js';
import { pidfdOpen, pidfdSendSignal } from '../sys/pidfd.js';
import { readTaskStat, readTree } from './proc.js';

const WAIT_MS = 2000;
const { SIGSTOP, SIGCONT, SIGKILL } = constants.signals;

export class Tasks {
  private readonly pidfds = new Map<number, number>();
  /** Tasks this dump stopped: only these are resumed (a job stopped by ^Z stays stopped). */
  private readonly stoppedHere = new Set<number>();
  /** Tasks that had exited (zombies) when pinned: they hold no files, so nothing is lost. */
  private readonly deadAtPin = new Set<number>();

  /**
   * The pids, with their descendants when asked, each checked to exist and pinned. The daemon
   * itself is refused when named and left out of a tree: stopping it would hang this very dump,
   * and --kill would end it.
   */
  add(pids: number[], tree: boolean): void {
    for (const pid of pids) {
      if (pid === process.pid) {
        throw new TtycrError('PERMISSION_DENIED', `pid ${pid} is ttycrd itself`, { pid });
      }
      for (const p of tree ? readTree(pid) : [pid]) {
        if (p !== process.pid) this.pin(p);
      }
    }
  }

  get pids(): number[] {
    return [...this.pidfds.keys()];
  }

  pidfd(pid: number): number {
    return this.pidfds.get(pid)!;
  }

  private pin(pid: number): void {
    if (this.pidfds.has(pid)) return;
    let pidfd: number;
    try {
      pidfd = pidfdOpen(pid);
    } catch (err) {
      if (isErrno(err, 'ESRCH')) throw new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`);
      throw err;
    }
    this.pidfds.set(pid, pidfd);
    if (exited(pidfd)) this.deadAtPin.add(pid);
  }

  /**
   * SIGSTOPs every task and waits until /proc shows each stopped, so nothing reads or writes its
   * ttys, forks or execs while it is dumped. With `tree`, children forked before the stop are
   * found and stopped too. On failure, every task stopped here is resumed before the throw.
   */
  async freeze(roots: number[], tree: boolean): Promise<void> {
    try {
      for (let before = -1; before !== this.pidfds.size;) {
        before = this.pidfds.size;
        for (const pid of this.pids) await this.stop(pid);
        if (tree) this.add(roots, true);
      }
    } catch (err) {
      this.thaw();
      throw err;
    }
  }

  private async stop(pid: number): Promise<void> {
    if (this.stoppedHere.has(pid) || isStopped(pid)) return;
    this.signal(pid, SIGSTOP);
    this.stoppedHere.add(pid);
    const deadline = Date.now() + WAIT_MS;
    while (!isStopped(pid)) {
      if (Date.now() > deadline) {
        throw new TtycrError('BUSY', `freeze: pid ${pid} did not stop within ${WAIT_MS} ms`, {
          pid,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** SIGCONTs the tasks this dump stopped that still exist. */
  thaw(): void {
    for (const pid of this.stoppedHere) this.signalQuietly(pid, SIGCONT);
    this.stoppedHere.clear();
  }

  /**
   * SIGKILLs every task and waits, up to WAIT_MS, until each has exited: its files are closed
   * by then, so a restore right after finds the pty index free. A task still there is logged.
   */
  async kill(log: Logger, afterSignal?: () => void): Promise<void> {
    for (const pid of this.pids) this.signalQuietly(pid, SIGKILL);
    this.stoppedHere.clear();
    afterSignal?.();
    const deadline = Date.now() + WAIT_MS;
    for (const [pid, pidfd] of this.pidfds) {
      while (!exited(pidfd)) {
        if (Date.now() > deadline) {
          log.warn('kill: task still alive', { pid, waitedMs: WAIT_MS });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }

  /**
   * NO_SUCH_PROCESS when a task exited since it was pinned: its files may have closed while they
   * were read, so the image could lack some of them.
   */
  checkAlive(): void {
    for (const [pid, pidfd] of this.pidfds) {
      if (!this.deadAtPin.has(pid) && exited(pidfd)) {
        throw new TtycrError('NO_SUCH_PROCESS', `pid ${pid} exited during the checkpoint`, {
          pid,
        });
      }
    }
  }

  close(): void {
    for (const pidfd of this.pidfds.values()) closeQuietly(pidfd);
    this.pidfds.clear();
  }

  private signal(pid: number, sig: number): void {
    try {
      pidfdSendSignal(this.pidfd(pid), sig, pid);
    } catch (err) {
      if (isErrno(err, 'ESRCH')) throw new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`);
      throw err;
    }
  }

  private signalQuietly(pid: number, sig: number): void {
    try {
      pidfdSendSignal(this.pidfd(pid), sig, pid);
    } catch {
      // Gone already: nothing to resume or kill.
    }
  }
}

/** A pidfd turns readable once its process has exited (a zombie included). */
function exited(pidfd: number): boolean {
  return (pollOne(pidfd, POLLIN, 0) & POLLIN) !== 0;
}

function isStopped(pid: number): boolean {
  const state = readTaskStat(pid).state;
  return state === 'T' || state === 't' || state === 'Z' || state === 'X';
}
