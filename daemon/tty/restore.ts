// restore(): recreate the ttys of a checkpoint, all or nothing, and say which task gets which fd.

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Checkpoint, OpenFile, Task, Tty } from '../../rpc-schema/image.js';
import { silentLogger } from '../log.js';
import { F_OWNER_PGRP, O_PATH, O_RDWR } from '../sys/fd.js';
import { allocate } from './alloc.js';
import { restorePty, type RestoredPty } from './drivers/pty-restore.js';
import { FdSet } from './fdset.js';
import { Steps, wrap } from './steps.js';
import type { Restored, RestoredFd, RestoredTask, RestoredTty, RestoreOptions } from './types.js';

export function restore(checkpoint: Checkpoint, options: RestoreOptions = {}): Restored {
  const log = options.log ?? silentLogger;
  const ptmx = options.ptmx ?? '/dev/ptmx';
  const fds = new FdSet();
  const steps = new Steps(`restore ${checkpoint.id}:`, options.failAt);

  try {
    for (const tty of checkpoint.ttys) {
      if (tty.kind !== 'pty') {
        throw new TtycrError(
          'UNSUPPORTED_TTY',
          `tty ${tty.id} is a ${tty.kind}, not supported yet`,
        );
      }
    }

    if (options.caller) checkUnprivileged(checkpoint);

    const wanted = checkpoint.ttys.map((t) => t.index);
    const masters = steps.run('allocate', `ptys on ${ptmx}`, () =>
      allocate(ptmx, wanted, options.indexPolicy ?? 'exact', fds, options.maxPtys),
    );

    const cttyNeeds = countBareCttys(checkpoint);
    const filesOf = new Map<number, OpenFile[]>();
    for (const f of checkpoint.files) {
      const list = filesOf.get(f.tty);
      if (list) list.push(f);
      else filesOf.set(f.tty, [f]);
    }
    const ptys = new Map<number, RestoredPty>();
    const ttys: RestoredTty[] = [];
    for (const tty of checkpoint.ttys) {
      const master = masters[tty.id]!;
      const files = filesOf.get(tty.id) ?? [];
      const pty = restorePty(tty, files, master.fd, {
        cttyPeers: cttyNeeds.get(tty.id) ?? 0,
        caller: options.caller,
        fds,
        steps,
      });
      ptys.set(tty.id, pty);
      ttys.push({
        id: tty.id,
        kind: tty.kind,
        oldIndex: tty.index,
        newIndex: master.index,
        path: ptsPath(ptmx, master.index),
        console: pty.console !== null,
      });
      log.debug('restored pty', {
        checkpoint: checkpoint.id,
        tty: tty.id,
        index: master.index,
      });
    }

    const tasks = steps.run('tasks', 'fds', () => assignTasks(checkpoint, ptys, fds));
    return {
      ttys,
      tasks,
      fds: () => fds.list(),
      close: () => fds.closeAll(),
    };
  } catch (err) {
    fds.closeAll();
    throw err instanceof TtycrError ? err : wrap(err, `restore ${checkpoint.id}`, 'restore');
  }
}

/**
 * What a caller who is not root may not have done for it: a line discipline other than N_TTY
 * (which may load a kernel module) and locked termios need privileges the caller lacks.
 */
function checkUnprivileged(checkpoint: Checkpoint): void {
  for (const tty of checkpoint.ttys) {
    if (tty.ldisc) {
      throw new TtycrError(
        'PERMISSION_DENIED',
        `tty ${tty.id}: line discipline ${tty.ldisc} needs root`,
      );
    }
    const locked = tty.lockedTermios;
    if (
      locked &&
      (locked.iflag || locked.oflag || locked.cflag || locked.lflag || locked.cc.some(Boolean))
    ) {
      throw new TtycrError('PERMISSION_DENIED', `tty ${tty.id}: locked termios need root`);
    }
  }
}

/** How many pts fds to open per tty for tasks whose controlling tty no fd of theirs holds. */
function countBareCttys(checkpoint: Checkpoint): Map<number, number> {
  const needs = new Map<number, number>();
  for (const task of checkpoint.tasks) {
    if (task.ctty === null || holdsSlave(checkpoint, task, task.ctty)) continue;
    const tty = checkpoint.ttys[task.ctty];
    if (!tty || tty.hungUp) continue;
    needs.set(task.ctty, (needs.get(task.ctty) ?? 0) + 1);
  }
  return needs;
}

function holdsSlave(checkpoint: Checkpoint, task: Task, tty: number): boolean {
  return task.fds.some((fd) => {
    const file = checkpoint.files[fd.file];
    return file?.tty === tty && file.end !== 'master' && !(file.flags & O_PATH);
  });
}

function assignTasks(
  checkpoint: Checkpoint,
  ptys: Map<number, RestoredPty>,
  held: FdSet,
): RestoredTask[] {
  const spare = new Map([...ptys].map(([id, pty]) => [id, [...pty.cttyPeers]]));
  const tasks: RestoredTask[] = checkpoint.tasks.map((task) => {
    const fds = task.fds.map((taskFd): RestoredFd => {
      const file = checkpoint.files[taskFd.file];
      if (!file) throw new TtycrError('IMAGE_CORRUPT', `pid ${task.pid}: no file ${taskFd.file}`);
      return {
        fd: taskFd.fd,
        file: file.id,
        tty: file.tty,
        end: file.end,
        daemonFd: heldFd(held, ptys.get(file.tty)?.files.get(file.id), task.pid, taskFd.fd),
        flags: file.flags,
        cloexec: taskFd.cloexec,
        owner: ownerFor(file, task),
      };
    });
    return { pid: task.pid, fds, ctty: cttyOf(checkpoint, task, fds, spare) };
  });

  const consoles = [...ptys].filter(([, pty]) => pty.console !== null);
  if (consoles.length) {
    const fds = consoles.map(([tty, pty]): RestoredFd => ({
      fd: -1,
      file: null,
      tty,
      end: 'master',
      daemonFd: pty.console!,
      flags: O_RDWR,
      cloexec: true,
      owner: null,
    }));
    tasks.push({ pid: 0, fds, ctty: null });
  }
  return tasks;
}

/** The daemon fd of a restored file, which must still be open: never hand out a stale number. */
function heldFd(held: FdSet, fd: number | undefined, pid: number, n: number): number {
  if (fd === undefined || !held.has(fd)) {
    throw new TtycrError('IMAGE_CORRUPT', `pid ${pid} fd ${n}: its file was not restored`);
  }
  return fd;
}

function cttyOf(
  checkpoint: Checkpoint,
  task: Task,
  fds: RestoredFd[],
  spare: Map<number, number[]>,
): RestoredTask['ctty'] {
  if (task.ctty === null) return null;
  const tty: Tty | undefined = checkpoint.ttys[task.ctty];
  if (!tty || tty.hungUp) return null;

  // TIOCSCTTY needs an open tty: any pts fd of the task but an O_PATH name.
  let fdIndex = fds.findIndex((f) => f.tty === tty.id && f.end !== 'master' && !(f.flags & O_PATH));
  if (fdIndex < 0) {
    const peer = spare.get(tty.id)?.shift();
    if (peer === undefined) return null;
    fdIndex = fds.length;
    fds.push({
      fd: -1,
      file: null,
      tty: tty.id,
      end: 'slave',
      daemonFd: peer,
      flags: O_RDWR,
      cloexec: true,
      owner: null,
    });
  }
  return {
    tty: tty.id,
    leader: task.pid === task.sid,
    foreground: tty.foreground === task.pgid,
    fdIndex,
  };
}

/**
 * F_SETOWN_EX names a pid, which is only meaningful again once the task runs: the claimant sets
 * it when the owner was itself (or its process group).
 */
function ownerFor(file: OpenFile, task: Task): RestoredFd['owner'] {
  if (file.owner.pid === 0) return null;
  const self =
    file.owner.type === F_OWNER_PGRP ? file.owner.pid === task.pgid : file.owner.pid === task.pid;
  return self ? { type: file.owner.type, self } : null;
}

const DEVPTS_SUPER_MAGIC = 0x1cd1;

/**
 * Where the new pts lives, as seen by whoever uses that devpts instance: next to the ptmx when
 * it is a devpts instance's own ptmx node, else in the pts directory beside /dev/ptmx.
 */
function ptsPath(ptmx: string, index: number): string {
  const dir = dirname(ptmx);
  let devpts = false;
  try {
    devpts = statfsSync(dir).type === DEVPTS_SUPER_MAGIC;
  } catch {
    // Unreadable: fall back to the usual /dev layout.
  }
  return devpts ? `${dir}/${index}` : `${dir}/pts/${index}`;
}
