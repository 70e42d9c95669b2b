// Runtime types of the tty engine: what dump() takes and what restore() hands back. The image
// (rpc-schema/image.ts) is the on-disk form; these carry live fds and never leave the daemon.

import type { Checkpoint } from '../../rpc-schema/image.js';
import type { Logger } from '../log.js';

export interface DumpOptions {
  /** The new checkpoint's id and name; the caller (the store) picks the id. */
  id: string;
  name?: string | null;
  /** uid of the caller, recorded in the image. */
  uid: number;
  /** Include every descendant of the given pids. */
  tree?: boolean;
  /** Stop the tasks for the dump (ptrace seize, SIGSTOP where refused) and resume them after. */
  freeze?: boolean;
  /** A cgroup to freeze instead (v2 cgroup.freeze or the v1 freezer); implies freeze. */
  freezer?: string;
  /** Save queued input and output; requires freeze. */
  data?: boolean;
  /** SIGKILL the tasks once the dump is complete and committed. */
  kill?: boolean;
  /**
   * Makes the checkpoint durable (the store writes it). Called with the tasks still frozen;
   * they are killed only after it resolved, and thawed instead if it throws.
   */
  commit?: (checkpoint: Checkpoint) => Promise<void>;
  /**
   * Throws when the caller may not checkpoint this task. Called for every task of the set once
   * it is pinned by a pidfd (and stopped, when freezing), before any of its fds is taken.
   */
  authorize?: (pid: number) => void | Promise<void>;
  log?: Logger;
}

export type IndexPolicy = 'exact' | 'any';

export interface RestoreOptions {
  /** The ptmx to create ptys on: /dev/ptmx, or /dev/pts/ptmx of another devpts instance. */
  ptmx?: string;
  indexPolicy?: IndexPolicy;
  log?: Logger;
  /**
   * The caller, when it is not root: the restore then does only what the caller could do on a
   * pty of its own (no line discipline but N_TTY, no locked termios, the pts node its own).
   */
  caller?: { uid: number; gid: number };
  /**
   * Most ptys the restore may hold at once, those opened only to get past a lower index
   * included: pty/max is shared by every user of the host. Default: no cap.
   */
  maxPtys?: number;
  /** Tests only: throw at the named step, to prove the rollback. */
  failAt?: string;
}

/** One fd a task should receive, as restore() made it. The daemon owns `daemonFd`. */
export interface RestoredFd {
  /** fd number in the original task; -1 when it is not placed (console master, bare ctty). */
  fd: number;
  file: number | null;
  tty: number;
  /** ctty: stands for a /dev/tty fd; the claimant reopens /dev/tty once it has its ctty. */
  end: 'master' | 'slave' | 'ctty';
  daemonFd: number;
  flags: number;
  cloexec: boolean;
  /** F_SETOWN_EX the claimant should apply, `self` when the owner was the task or its group. */
  owner: { type: number; self: boolean } | null;
}

export interface RestoredTask {
  /** Original pid; 0 is the console (masters no task held). */
  pid: number;
  fds: RestoredFd[];
  ctty: {
    tty: number;
    leader: boolean;
    foreground: boolean;
    fdIndex: number;
  } | null;
}

export interface RestoredTty {
  id: number;
  kind: 'pty' | 'ctty' | 'console' | 'vt' | 'serial';
  oldIndex: number;
  newIndex: number;
  path: string;
  console: boolean;
}

export interface Restored {
  ttys: RestoredTty[];
  tasks: RestoredTask[];
  /** Every fd the restore holds, once each. */
  fds(): number[];
  /** Closes every fd the restore still holds. Idempotent. Returns how many it closed. */
  close(): number;
}
