// Restores in flight: the fds restore() made, held until each task claims its own, the restore
// is cancelled, its time to live runs out, or the daemon stops.

import type { ClaimFd, RestoreSummary, Result } from '../../rpc-schema/methods.js';
import { TtycrError } from '../../rpc-schema/errors.js';
import { closeQuietly, dup, FD_CLOEXEC, setfd } from '../sys/fd.js';
import type { Restored, RestoredTask } from '../tty/types.js';
import { type Logger, silentLogger } from '../log.js';
import { newRestoreId } from '../store/ids.js';

/** One restore waiting for claims. */
export interface PendingRestore {
  id: string;
  checkpoint: string;
  /** The uid that started it: only it (and root) may claim, list or cancel it. */
  uid: number;
  createdAt: Date;
  expiresAt: Date;
  restored: Restored;
  claimed: Set<number>;
  /** Tasks whose claim reply is on its way: claimed once it went out, claimable if dropped. */
  sending: Set<number>;
  timer: NodeJS.Timeout;
}

/** A claim's answer: the reply's result, and the fds to send with it in the same order. */
export interface Claim {
  result: Result<'restore.claim'>;
  /**
   * Duplicates made for this reply; the caller owns them and closes them once sendmsg has
   * copied them (or when sending fails), so the restore's own fds are never sent and closed.
   */
  fds: number[];
  /**
   * Settles the claim once the transport knows: sent, the task is claimed (and the restore
   * dropped when it was the last); not sent, the task may claim again.
   */
  settle(sent: boolean): void;
}

export interface RestoreTableOptions {
  ttlSeconds: number;
  /** Pending restores one uid may hold (each holds fds); more is LIMIT_EXCEEDED. Default 64. */
  maxPerUid?: number;
  /**
   * Ptys the pending restores of one uid other than root may hold, default 256: every one is
   * taken from /proc/sys/kernel/pty/max, which all users of the host share.
   */
  maxPtysPerUid?: number;
  log?: Logger;
}

// Ids that expired or were claimed in full are remembered, so a late claim learns which rather
// than NOT_FOUND; bounded.
const ENDED_MEMORY = 1024;

type Ended = 'expired' | 'claimed';

export class RestoreTable {
  private readonly pending = new Map<string, PendingRestore>();
  /** Ended restores, who started them (only they learn how it ended) and how it ended. */
  private readonly ended = new Map<string, { uid: number; how: Ended }>();
  private readonly ttlSeconds: number;
  private readonly maxPerUid: number;
  private readonly maxPtysPerUid: number;
  private readonly log: Logger;

  constructor(options: RestoreTableOptions) {
    this.ttlSeconds = options.ttlSeconds;
    this.maxPerUid = options.maxPerUid ?? 64;
    this.maxPtysPerUid = options.maxPtysPerUid ?? 256;
    this.log = options.log ?? silentLogger;
  }

  /**
   * LIMIT_EXCEEDED when `uid` may not start one more restore of `ptys` ptys: asked before the
   * engine runs, so a refused restore never takes a pty, not even for a moment.
   */
  checkRoom(uid: number, ptys: number): void {
    const mine = this.list().filter((entry) => entry.uid === uid);
    if (mine.length >= this.maxPerUid) {
      throw new TtycrError('LIMIT_EXCEEDED', `uid ${uid} has ${mine.length} restores pending`, {
        limit: 'restores-per-uid',
      });
    }
    if (uid === 0) return;

    const held = this.ptysHeld(uid);
    if (held + ptys > this.maxPtysPerUid) {
      throw new TtycrError(
        'LIMIT_EXCEEDED',
        `uid ${uid} holds ${held} ptys in pending restores; ${ptys} more would pass the ` +
          `limit of ${this.maxPtysPerUid}: claim or cancel some first`,
        { limit: 'ptys-per-uid' },
      );
    }
  }

  /**
   * How many ptys one more restore of `uid` may hold at once, the ones it opens only to get past
   * a lower index included: the pty cap less what its pending restores hold; no cap for root.
   */
  ptyRoom(uid: number): number {
    return uid === 0 ? Infinity : Math.max(0, this.maxPtysPerUid - this.ptysHeld(uid));
  }

  private ptysHeld(uid: number): number {
    let held = 0;
    for (const entry of this.pending.values()) {
      if (entry.uid === uid) held += entry.restored.ttys.length;
    }
    return held;
  }

  /**
   * Takes ownership of a restore's fds and starts its time to live. Over the uid's caps the
   * restore is closed and LIMIT_EXCEEDED thrown.
   */
  add(checkpoint: string, uid: number, restored: Restored, ttlSeconds?: number): PendingRestore {
    // restore.start asked already, before the engine ran; asked again for any other caller.
    try {
      this.checkRoom(uid, restored.ttys.length);
    } catch (err) {
      restored.close();
      throw err;
    }

    let id = newRestoreId();
    while (this.pending.has(id) || this.ended.has(id)) id = newRestoreId();

    const ttl = ttlSeconds ?? this.ttlSeconds;
    const createdAt = new Date();
    const timer = setTimeout(() => this.expire(id), ttl * 1000);
    timer.unref();

    const entry: PendingRestore = {
      id,
      checkpoint,
      uid,
      createdAt,
      expiresAt: new Date(createdAt.getTime() + ttl * 1000),
      restored,
      claimed: new Set(),
      sending: new Set(),
      timer,
    };
    this.pending.set(id, entry);
    return entry;
  }

  /**
   * The pending restore with this id: NOT_FOUND, EXPIRED when its time ran out, ALREADY_CLAIMED
   * when every task claimed. A restore the caller may not see (`visible` says no for its uid) is
   * NOT_FOUND either way.
   */
  get(id: string, visible: (uid: number) => boolean = () => true): PendingRestore {
    const entry = this.pending.get(id);
    if (entry && !visible(entry.uid)) throw notFound(id);
    if (entry && Date.now() < entry.expiresAt.getTime()) return entry;
    if (entry) this.expire(id);

    const ended = this.ended.get(id);
    if (ended === undefined || !visible(ended.uid)) throw notFound(id);
    if (ended.how === 'expired') {
      throw new TtycrError('EXPIRED', `restore ${id} expired; its fds are closed`, { id });
    }
    throw new TtycrError('ALREADY_CLAIMED', `every task of restore ${id} was claimed`, { id });
  }

  /**
   * Hands a task its fds, once. The claim counts once its reply went out (Claim.settle), so a
   * reply lost with its connection leaves the task claimable. The restore is dropped (and its
   * fds closed) when every task has claimed. Access is the caller's to check first.
   */
  claim(entry: PendingRestore, pid: number): Claim {
    const task = entry.restored.tasks.find((t) => t.pid === pid);
    if (!task) {
      throw new TtycrError('NOT_FOUND', `restore ${entry.id} has no task ${pid}`, {
        id: entry.id,
      });
    }
    if (entry.claimed.has(pid) || entry.sending.has(pid)) {
      throw new TtycrError('ALREADY_CLAIMED', `task ${pid} of restore ${entry.id} was claimed`, {
        id: entry.id,
      });
    }

    const fds = dupAll(task);
    entry.sending.add(pid);
    const settle = (sent: boolean): void => this.settle(entry, pid, fds.length, sent);
    return { result: claimResult(entry.id, task), fds, settle };
  }

  private settle(entry: PendingRestore, pid: number, fds: number, sent: boolean): void {
    entry.sending.delete(pid);
    if (!sent) {
      this.log.info('claim reply not delivered', { restore: entry.id, task: pid });
      return;
    }

    entry.claimed.add(pid);
    this.log.info('restore claimed', { restore: entry.id, task: pid, fds });
    const live = this.pending.get(entry.id) === entry;
    if (live && entry.claimed.size === entry.restored.tasks.length) {
      this.drop(entry.id);
      this.remember(entry, 'claimed');
    }
  }

  /** Closes everything a restore holds; returns how many fds that closed. */
  cancel(entry: PendingRestore): number {
    return this.drop(entry.id);
  }

  list(): PendingRestore[] {
    return [...this.pending.values()];
  }

  /** Number of fds held by pending restores (those `visible` says yes to, default all). */
  pendingFds(visible: (uid: number) => boolean = () => true): number {
    let n = 0;
    for (const entry of this.pending.values()) {
      if (visible(entry.uid)) n += entry.restored.fds().length;
    }
    return n;
  }

  /** Daemon shutdown: closes every pending restore. Returns how many fds that closed. */
  closeAll(): number {
    let closed = 0;
    for (const id of [...this.pending.keys()]) closed += this.drop(id);
    return closed;
  }

  private expire(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;

    const unclaimed = entry.restored.tasks.filter((t) => !entry.claimed.has(t.pid)).length;
    const closed = this.drop(id);
    this.remember(entry, 'expired');
    this.log.warn('restore expired unclaimed', { restore: id, unclaimed, closed });
  }

  private remember(entry: PendingRestore, how: Ended): void {
    this.ended.set(entry.id, { uid: entry.uid, how });
    if (this.ended.size > ENDED_MEMORY) {
      this.ended.delete(this.ended.keys().next().value as string);
    }
  }

  private drop(id: string): number {
    const entry = this.pending.get(id);
    if (!entry) return 0;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    return entry.restored.close();
  }
}

/**
 * Duplicates of a task's fds, close-on-exec, in its order. On failure the duplicates made so
 * far are closed and the task stays unclaimed.
 */
function dupAll(task: RestoredTask): number[] {
  const fds: number[] = [];
  try {
    for (const fd of task.fds) {
      fds.push(dup(fd.daemonFd));
      setfd(fds[fds.length - 1]!, FD_CLOEXEC);
    }
  } catch (err) {
    for (const fd of fds) closeQuietly(fd);
    throw err;
  }
  return fds;
}

function notFound(id: string): TtycrError {
  return new TtycrError('NOT_FOUND', `no restore ${id}`, { id });
}

function claimResult(id: string, task: RestoredTask): Result<'restore.claim'> {
  const fds: ClaimFd[] = task.fds.map((fd) => ({
    fd: fd.fd,
    tty: fd.tty,
    end: fd.end,
    flags: fd.flags,
    cloexec: fd.cloexec,
    owner: fd.owner,
  }));
  return { id, task: task.pid, fds, ctty: task.ctty };
}

/** What restore.start and restore.list report about a pending restore. */
export function summarize(entry: PendingRestore): RestoreSummary {
  return {
    id: entry.id,
    checkpoint: entry.checkpoint,
    uid: entry.uid,
    createdAt: entry.createdAt.toISOString(),
    expiresAt: entry.expiresAt.toISOString(),
    ttys: entry.restored.ttys.map((tty) => ({ ...tty })),
    tasks: entry.restored.tasks.map((task) => ({
      pid: task.pid,
      fds: task.fds.map((fd) => ({ fd: fd.fd, tty: fd.tty, end: fd.end })),
      ctty: task.ctty?.tty ?? null,
      claimed: entry.claimed.has(task.pid),
    })),
  };
}
