// The tasks of one dump, each pinned by a pidfd from the moment it is found: every signal goes
// through that pidfd, so a pid that is reused meanwhile is never stopped, resumed or killed.
// Freezing seizes every thread with ptrace: a SIGSTOP would be seen by the task's parent, and
// tmux answers it with SIGCONT while a shell takes the terminal's foreground back from a stopped
// job, changing the very state being saved. SIGSTOP is the fallback where ptrace is refused.

import { constants } from 'node:os';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Logger } from '../log.js';
import { isErrno } from '../sys/errors.js';
import { closeQuietly, POLLIN, pollOne } from '../sys/fd.js';
import { pidfdOpen, pidfdSendSignal } from '../sys/pidfd.js';
import { ptraceDetach, ptraceInterrupt, ptraceSeize, waitTracee } from '../sys/ptrace.js';
import { readTaskStat, readThreads, readTree } from './proc.js';

const WAIT_MS = 2000;
const { SIGSTOP, SIGCONT, SIGKILL } = constants.signals;

export class Tasks {
  private readonly pidfds = new Map<number, number>();
  /**
   * Tasks this dump stopped, and how: the threads it seized, or an empty list for a SIGSTOP.
   * Only these are resumed (a job stopped by ^Z stays stopped).
   */
  private readonly stoppedHere = new Map<number, number[]>();
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
    const tids = seizeThreads(pid);
    if (!tids) this.signal(pid, SIGSTOP);
    this.stoppedHere.set(pid, tids ?? []);

    const deadline = Date.now() + WAIT_MS;
    for (const tid of tids ?? [pid]) {
      while (!(tid === pid ? isStopped(pid) : threadStopped(tid))) {
        if (Date.now() > deadline) {
          throw new TtycrError('BUSY', `freeze: pid ${pid} did not stop within ${WAIT_MS} ms`, {
            pid,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }

  /** Resumes the tasks this dump stopped that still exist: detached, or sent SIGCONT. */
  thaw(): void {
    for (const [pid, tids] of this.stoppedHere) {
      if (!tids.length) this.signalQuietly(pid, SIGCONT);
      for (const tid of tids) detachQuietly(tid);
    }
    this.stoppedHere.clear();
  }

  /**
   * SIGKILLs every task and waits, up to WAIT_MS, until each has exited: its files are closed
   * by then, so a restore right after finds the pty index free. A task still there is logged.
   */
  async kill(log: Logger, afterSignal?: () => void): Promise<void> {
    for (const pid of this.pids) this.signalQuietly(pid, SIGKILL);
    afterSignal?.();
    const deadline = Date.now() + WAIT_MS;

    // A seized thread that dies stays a zombie until its tracer has waited for it, and only
    // then does its parent learn of the exit (tmux closes the pane and frees the pts).
    const seized = [...this.stoppedHere.values()].flat();
    this.stoppedHere.clear();
    while (seized.length && Date.now() <= deadline) {
      for (let i = seized.length - 1; i >= 0; i--) if (released(seized[i]!)) seized.splice(i, 1);
      if (seized.length) await new Promise((resolve) => setTimeout(resolve, 1));
    }

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

/**
 * Seizes and interrupts every thread of a task, threads it starts meanwhile included; null when
 * ptrace is refused (another tracer has it, or no permission): the caller falls back to SIGSTOP.
 */
function seizeThreads(pid: number): number[] | null {
  const seized: number[] = [];
  try {
    for (;;) {
      const fresh = readThreads(pid).filter((tid) => !seized.includes(tid));
      if (!fresh.length) return seized.length ? seized : null;
      for (const tid of fresh) {
        try {
          ptraceSeize(tid);
        } catch (err) {
          if (isErrno(err, 'ESRCH')) continue; // the thread exited: nothing of it to stop
          throw err;
        }
        seized.push(tid);
        ptraceInterrupt(tid);
      }
    }
  } catch (err) {
    for (const tid of seized) detachQuietly(tid);
    if (isErrno(err, 'EPERM', 'EACCES')) return null;
    throw err;
  }
}

function detachQuietly(tid: number): void {
  try {
    ptraceDetach(tid);
  } catch {
    // Exited meanwhile: a dead thread has nothing to resume.
  }
}

/** Waits once, as its tracer, for a killed thread: true once nothing of it is left to reap. */
function released(tid: number): boolean {
  try {
    waitTracee(tid);
    return false; // a report was taken (its stop, or its exit): ask again until ECHILD
  } catch {
    return true;
  }
}

/** A pidfd turns readable once its process has exited (a zombie included). */
function exited(pidfd: number): boolean {
  return (pollOne(pidfd, POLLIN, 0) & POLLIN) !== 0;
}

/** A thread other than the leader counts as stopped once gone: nothing of it runs. */
function threadStopped(tid: number): boolean {
  try {
    return isStopped(tid);
  } catch {
    return true;
  }
}

function isStopped(pid: number): boolean {
  const state = readTaskStat(pid).state;
  return state === 'T' || state === 't' || state === 'Z' || state === 'X';
}
