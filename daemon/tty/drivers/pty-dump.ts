// Reading the state of one pty: what the kernel keeps on the master, on the pts, and on the pts
// node, through whichever ends the tasks hold.

import type { Tty } from '../../../rpc-schema/image.js';
import { isErrno } from '../../sys/errors.js';
import {
  closeQuietly,
  fstat,
  O_NONBLOCK,
  O_PATH,
  O_RDWR,
  POLLHUP,
  POLLIN,
  pollOne,
} from '../../sys/fd.js';
import { getPacketMode, getPtyLock, openPeer, setPtyLock } from '../../sys/pty.js';
import {
  getExclusive,
  getForegroundGroup,
  getLineDiscipline,
  getLockedTermios,
  getSession,
  getWinsize,
  tcgets2,
} from '../../sys/termios.js';
import { type HeldPty, openSlave } from '../collect.js';
import type { TaskStat } from '../proc.js';

/** The session and foreground group the pts has, read from a master or from the tasks. */
interface Sessions {
  session: number | null;
  foreground: number | null;
}

/**
 * The state of a pty the tasks hold. `id` is its id in the image; `rdev` that of its pts.
 * Every read is an ioctl on a daemon fd; nothing the tasks can see changes, except that a held
 * master whose pts was closed may get its pts opened and closed again (it stays closed).
 */
export function dumpPty(id: number, pty: HeldPty, rdev: number, tasks: TaskStat[]): Tty {
  const master = pty.masters[0]?.fd ?? -1;
  const slave = openSlave(pty)?.fd ?? -1;
  const base: Tty = {
    id,
    kind: 'pty',
    index: pty.index,
    rdev,
    devpts: pty.devpts,
    ptmx: pty.ptmx,
    masterHeld: master >= 0,
    slaveHeld: slave >= 0,
    orphanMaster: 'close',
    hungUp: false,
    peerClosed: false,
    locked: false,
    packet: false,
    exclusive: false,
    masterExclusive: false,
    termios: null,
    lockedTermios: null,
    winsize: null,
    ldisc: null,
    node: null,
    session: null,
    foreground: null,
    data: null,
  };
  if (master >= 0) return { ...base, ...masterState(master, slave) };

  const fromTasks = sessionsFromTasks(rdev, tasks);
  if (isHungUp(slave)) return { ...base, hungUp: true, node: nodeOf(slave), ...fromTasks };

  // A live pts whose master another process holds: keep the new master for a console.
  return {
    ...base,
    orphanMaster: 'keep',
    ...slaveState(slave),
    termios: tcgets2(slave),
    lockedTermios: getLockedTermios(slave),
    winsize: getWinsize(slave),
    node: nodeOf(slave),
    ...fromTasks,
  };
}

/** Everything a master answers for its pty, and the pts-side state through `slave` if held. */
function masterState(master: number, slave: number): Partial<Tty> {
  const peerClosed = slave < 0 && (pollOne(master, POLLIN, 0) & POLLHUP) !== 0;
  const locked = getPtyLock(master);
  return {
    peerClosed,
    locked,
    packet: getPacketMode(master),
    masterExclusive: getExclusive(master),
    ...peerState(master, slave, peerClosed, locked),
    termios: tcgets2(master),
    lockedTermios: getLockedTermios(master),
    winsize: getWinsize(master),
    node: masterNode(master),
    ...sessionsFromMaster(master),
  };
}

/** A pts whose master closed answers EIO to every ioctl. */
function isHungUp(slave: number): boolean {
  try {
    tcgets2(slave);
    return false;
  } catch (err) {
    if (isErrno(err, 'EIO')) return true;
    throw err;
  }
}

/** Line discipline and exclusive mode live on the pts side and are read through a pts fd. */
function slaveState(slave: number): { ldisc: number; exclusive: boolean } {
  return { ldisc: getLineDiscipline(slave), exclusive: getExclusive(slave) };
}

/**
 * The pts-side state when only the master is held. Opening the pts would tell a master whose pts
 * was never opened that it has now been closed (POLLHUP, EIO on read), so the pts is opened only
 * when that is already so; otherwise it was never opened, or is held outside the set, and keeps
 * the defaults a new pts has. A locked pty is unlocked for that one open.
 */
function peerState(master: number, slave: number, peerClosed: boolean, locked: boolean) {
  if (slave >= 0) return slaveState(slave);
  if (!peerClosed) return { ldisc: 0, exclusive: false };
  if (locked) setPtyLock(master, false);
  try {
    const peer = openPeer(master, O_RDWR | O_NONBLOCK);
    try {
      return slaveState(peer);
    } finally {
      closeQuietly(peer);
    }
  } finally {
    if (locked) setPtyLock(master, true);
  }
}

function nodeOf(fd: number): { uid: number; gid: number; mode: number } {
  const st = fstat(fd);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

function masterNode(master: number): {
  uid: number;
  gid: number;
  mode: number;
} {
  const peer = openPeer(master, O_PATH);
  try {
    return nodeOf(peer);
  } finally {
    closeQuietly(peer);
  }
}

/** TIOCGSID and TIOCGPGRP answer for the pts when asked on its master. */
function sessionsFromMaster(master: number): Sessions {
  let session: number | null = null;
  try {
    session = getSession(master);
  } catch (err) {
    if (!isErrno(err, 'ENOTTY')) throw err;
  }
  const pgrp = getForegroundGroup(master);
  return { session, foreground: pgrp > 0 ? pgrp : null };
}

/** Without the master, the tasks that have the pts as controlling tty say who it belongs to. */
export function sessionsFromTasks(rdev: number, tasks: TaskStat[]): Sessions {
  const member = tasks.find((t) => t.ttyNr === rdev);
  if (!member) return { session: null, foreground: null };
  return {
    session: member.session,
    foreground: member.tpgid > 0 ? member.tpgid : null,
  };
}
