// dump(): the checkpoint of every tty a set of tasks holds.

import { hostname, release } from 'node:os';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Checkpoint, OpenFile, Task, Tty } from '../../rpc-schema/image.js';
import { silentLogger } from '../log.js';
import { isErrno } from '../sys/errors.js';
import {
  fstat,
  getownEx,
  getsig,
  major,
  makedev,
  minor,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_PATH,
  O_RDWR,
  openPath,
} from '../sys/fd.js';
import { classifyRdev, ptsIndex } from './classify.js';
import { collect, type HeldFile, type HeldPty, openSlave, ptsNodeInRoot } from './collect.js';
import { readQueued } from './drivers/pty-data.js';
import { dumpPty } from './drivers/pty-dump.js';
import { FdSet } from './fdset.js';
import { readTaskStat, type TaskStat } from './proc.js';
import { openInRoot } from './inroot.js';
import { Tasks } from './tasks.js';
import { CgroupFreezer } from './cgroup.js';
import type { DumpOptions } from './types.js';

const PTS_MAJOR = 136;

export async function dump(pids: number[], options: DumpOptions): Promise<Checkpoint> {
  const log = options.log ?? silentLogger;
  const tree = options.tree ?? false;
  const tasks = new Tasks();
  const cgroup = options.freezer ? new CgroupFreezer(options.freezer) : null;
  const fds = new FdSet();
  let killed = false;

  try {
    tasks.add(pids, tree);
    if (cgroup) {
      await cgroup.freeze();
      tasks.add(pids, tree);
    } else if (options.freeze || options.data) {
      await tasks.freeze(pids, tree);
    }

    // Asked only now: a stopped task cannot exec into something else behind our back.
    for (const pid of tasks.pids) await options.authorize?.(pid);

    const all = tasks.pids;
    const stats = all.map(readTaskStat);
    const checkpoint = build(all, stats, tasks, fds, options);
    tasks.checkAlive();
    log.debug('dumped ttys', { checkpoint: options.id, ttys: checkpoint.ttys.length });

    await options.commit?.(checkpoint);
    if (options.kill) {
      // A task in a v1 freezer dies of SIGKILL only once thawed.
      await tasks.kill(log, () => cgroup?.thaw());
      killed = true;
    }
    return checkpoint;
  } finally {
    fds.closeAll();
    if (!killed) tasks.thaw();
    cgroup?.thaw();
    tasks.close();
  }
}

function build(
  pids: number[],
  stats: TaskStat[],
  pinned: Tasks,
  fds: FdSet,
  options: DumpOptions,
): Checkpoint {
  const ptys = collect(pids, (pid) => pinned.pidfd(pid), fds);
  const ttys: Tty[] = [];
  const files: OpenFile[] = [];
  const fdsOfTask = new Map<number, Task['fds']>(pids.map((pid) => [pid, []]));

  for (const pty of ptys.values()) {
    const tty = dumpPty(ttys.length, pty, makedev(PTS_MAJOR, pty.index), stats);
    if (options.data) tty.data = queuedData(tty, pty);
    ttys.push(tty);
    for (const file of [...pty.masters, ...pty.slaves]) {
      const entry = openFileEntry(files.length, tty.id, file);
      files.push(entry);
      for (const h of file.holders) {
        fdsOfTask.get(h.pid)!.push({ fd: h.fd, file: entry.id, cloexec: h.cloexec });
      }
    }
  }

  const tasks = stats.map((st): Task => {
    const taskFds = fdsOfTask.get(st.pid)!.sort((a, b) => a.fd - b.fd);
    return {
      pid: st.pid,
      ppid: st.ppid,
      comm: st.comm,
      sid: st.session,
      pgid: st.pgrp,
      ctty: controllingTty(st, ttys, stats, fds),
      cttyRdev: st.ttyNr,
      fds: taskFds,
    };
  });

  return {
    id: options.id,
    name: options.name ?? null,
    createdAt: new Date().toISOString(),
    uid: options.uid,
    host: hostname(),
    kernel: release(),
    options: {
      tree: options.tree ?? false,
      freeze: (options.freeze || options.data || !!options.freezer) ?? false,
      data: options.data ?? false,
      kill: options.kill ?? false,
    },
    ttys,
    files,
    tasks,
  };
}

/**
 * Queued bytes of a pty whose master the tasks hold, read and put back. Only the n_tty line
 * discipline queues bytes this way; a hung-up or foreign-ldisc pty has nothing to save.
 */
function queuedData(tty: Tty, pty: HeldPty): Tty['data'] {
  const master = pty.masters[0]?.fd;
  if (master === undefined || tty.hungUp || tty.ldisc !== 0) return null;
  const q = readQueued(master, openSlave(pty)?.fd ?? null, tty.packet);
  return { input: q.input.toString('base64'), output: q.output.toString('base64') };
}

function openFileEntry(id: number, tty: number, file: HeldFile): OpenFile {
  const named = (file.flags & O_PATH) !== 0;
  return {
    id,
    tty,
    end: file.end,
    flags: file.flags,
    pos: file.pos,
    // An O_PATH file has no owner or signal to ask about (fcntl answers EBADF).
    owner: named ? { type: 0, pid: 0 } : getownEx(file.fd),
    signal: named ? 0 : getsig(file.fd),
  };
}

/**
 * The tty id of a task's controlling tty. When no fd of the set holds that pts, it is opened
 * through the task's own root to read its state, so the task keeps a controlling tty after
 * restore (a pty whose master waits for a console claim).
 */
function controllingTty(st: TaskStat, ttys: Tty[], stats: TaskStat[], fds: FdSet): number | null {
  if (st.ttyNr === 0) return null;
  // Every devpts instance numbers its pts 136:N: with two candidates, the task's own /dev/pts
  // says which instance it is in.
  const held = ttys.filter((t) => t.rdev === st.ttyNr);
  if (held.length === 1) return held[0]!.id;
  if (held.length > 1) {
    const own = ptsNodeInRoot(st.pid, ptsIndex(st.ttyNr));
    return (held.find((t) => t.devpts === own?.dev) ?? held[0]!).id;
  }
  if (classifyRdev(st.ttyNr) !== 'pts') {
    throw new TtycrError(
      'UNSUPPORTED_TTY',
      `pid ${st.pid}: its controlling tty ${major(st.ttyNr)}:${minor(st.ttyNr)} is no pty, ` +
        'which is not supported yet',
      { pid: st.pid },
    );
  }

  const index = ptsIndex(st.ttyNr);
  let fd: number;
  try {
    // Found in the task's own /dev/pts, checked to be that pts, then opened for real.
    const name = fds.add(openInRoot(st.pid, `/dev/pts/${index}`));
    const node = fstat(name);
    if ((node.mode & 0o170000) !== 0o020000 || node.rdev !== st.ttyNr) return null;
    fd = fds.add(openPath(`/proc/self/fd/${name}`, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    fds.close(name);
  } catch (err) {
    // Its node is gone (the master closed): the task keeps tty_nr in the image, nothing more.
    if (isErrno(err, 'ENOENT', 'EIO', 'ENXIO')) return null;
    throw err;
  }
  try {
    const node = fstat(fd);
    if (node.rdev !== st.ttyNr) return null;
    const pty: HeldPty = {
      devpts: node.dev,
      index,
      ptmx: '/dev/ptmx',
      masters: [],
      slaves: [{ fd, end: 'slave', flags: 0, pos: 0, holders: [] }],
    };
    const tty = {
      ...dumpPty(ttys.length, pty, st.ttyNr, stats),
      slaveHeld: false,
    };
    ttys.push(tty);
    return tty.id;
  } finally {
    fds.close(fd);
  }
}
