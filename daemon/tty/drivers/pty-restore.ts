// Recreating the state of one pty on a master that already has the right index, in the order
// the kernel needs: the pts must be unlocked to be opened, termios must be set before the locked
// termios that would freeze its bits, queued data before packet mode, exclusive mode after every
// pts open, the lock last.

import { chmodSync, chownSync } from 'node:fs';

import type { OpenFile, Termios, Tty } from '../../../rpc-schema/image.js';
import {
  closeQuietly,
  fstat,
  O_ACCMODE,
  O_NONBLOCK,
  O_PATH,
  O_RDWR,
  SETFL_FLAGS,
  setfl,
  setsig,
} from '../../sys/fd.js';
import { openPeer, setPacketMode, setPtyLock } from '../../sys/pty.js';
import {
  setExclusive,
  setLineDiscipline,
  setLockedTermios,
  setWinsize,
  tcsets2,
} from '../../sys/termios.js';
import type { FdSet } from '../fdset.js';
import { writeQueued } from './pty-data.js';
import type { Steps } from '../steps.js';

export interface RestoredPty {
  /** Image file id → the daemon fd that now is that open file. */
  files: Map<number, number>;
  /** The master, when no task held it and it is kept for a console claim. */
  console: number | null;
  /** Extra pts fds, for tasks whose controlling tty no fd of theirs held. */
  cttyPeers: number[];
}

export interface PtyRestoreContext {
  /** How many extra pts fds to open for tasks whose controlling tty no fd of theirs held. */
  cttyPeers: number;
  /** The caller, when not root: the pts node becomes its own. */
  caller: { uid: number; gid: number } | undefined;
  fds: FdSet;
  steps: Steps;
}

/** Restores `tty` on `master` (which `ctx.fds` owns); `files` are its open files in the image. */
export function restorePty(
  tty: Tty,
  files: OpenFile[],
  master: number,
  ctx: PtyRestoreContext,
): RestoredPty {
  const { cttyPeers, fds, steps } = ctx;
  const what = `pty ${tty.id} (index ${tty.index})`;
  const step = <T>(name: string, fn: () => T): T => steps.run(name, what, fn);
  const result: RestoredPty = {
    files: new Map(),
    console: null,
    cttyPeers: [],
  };
  const slaves = files.filter((f) => f.end !== 'master');

  step('unlock', () => setPtyLock(master, false));

  const peers = step('peer', () => {
    const ttys: number[] = [];
    for (const file of slaves) {
      const named = (file.flags & O_PATH) !== 0;
      const flags = named ? O_PATH : (file.flags & O_ACCMODE) | O_NONBLOCK;
      const fd = fds.add(openPeer(master, flags));
      result.files.set(file.id, fd);
      if (!named) ttys.push(fd);
    }
    for (let i = 0; i < cttyPeers; i++) {
      result.cttyPeers.push(fds.add(openPeer(master, O_RDWR | O_NONBLOCK)));
    }
    return [...ttys, ...result.cttyPeers];
  });

  if (tty.node) step('node', () => setNode(master, tty.node!, ctx.caller));
  if (tty.termios) step('termios', () => tcsets2(master, tty.termios!));
  if (tty.lockedTermios && !isZero(tty.lockedTermios)) {
    step('locked-termios', () => setLockedTermios(master, tty.lockedTermios!));
  }
  if (tty.winsize) step('winsize', () => setWinsize(master, tty.winsize!));
  if (tty.ldisc)
    step('ldisc', () => withPeer(master, peers, (p) => setLineDiscipline(p, tty.ldisc!)));
  // Queued data goes in before packet mode: turning packet mode on clears the status the
  // writes may leave (flow control changes), so the master reads only what it read before.
  if (tty.data && (tty.data.input || tty.data.output)) {
    const queued = {
      input: Buffer.from(tty.data.input, 'base64'),
      output: Buffer.from(tty.data.output, 'base64'),
    };
    step('data', () => withPeer(master, peers, (p) => writeQueued(master, p, false, queued)));
  }

  if (tty.packet) step('packet', () => setPacketMode(master, true));
  if (tty.exclusive) step('exclusive', () => withPeer(master, peers, (p) => setExclusive(p, true)));
  if (tty.masterExclusive) step('exclusive', () => setExclusive(master, true));

  step('flags', () => {
    for (const file of files) {
      if (file.flags & O_PATH) continue;
      const fd = file.end === 'master' ? master : result.files.get(file.id)!;
      setfl(fd, file.flags & SETFL_FLAGS);
      if (file.signal) setsig(fd, file.signal);
    }
  });
  step('hangup', () => finish(tty, files, master, peers, fds, result));
  if (tty.locked && fds.has(master)) step('lock', () => setPtyLock(master, true));
  return result;
}

/** Who keeps the master, and whether the pts ends up hung up or closed, as it was. */
function finish(
  tty: Tty,
  files: OpenFile[],
  master: number,
  peers: number[],
  fds: FdSet,
  result: RestoredPty,
): void {
  const masterFile = files.find((f) => f.end === 'master');
  if (masterFile) result.files.set(masterFile.id, master);

  if (tty.hungUp || (!tty.masterHeld && tty.orphanMaster === 'close')) {
    // Closing the master hangs up every pts fd opened on it, as the image had them.
    fds.close(master);
    return;
  }
  if (!tty.masterHeld) result.console = master;
  if (tty.peerClosed && peers.length === 0) {
    // Open and close the pts once, so the master reads EIO and polls POLLHUP as it did.
    closeQuietly(openPeer(master, O_RDWR | O_NONBLOCK));
  }
}

/** Runs `fn` on a pts fd: one already open, or a temporary one. */
function withPeer(master: number, peers: number[], fn: (fd: number) => void): void {
  if (peers.length) return fn(peers[0]!);
  const peer = openPeer(master, O_RDWR | O_NONBLOCK);
  try {
    fn(peer);
  } finally {
    closeQuietly(peer);
  }
}

/**
 * Owner, group and mode of the pts node, changed only where they differ from a new one's. A
 * caller who is not root gets a node of its own: its uid, and the image's group only where that
 * is its own group or the one devpts gives every new pts.
 */
function setNode(
  master: number,
  node: NonNullable<Tty['node']>,
  caller?: PtyRestoreContext['caller'],
) {
  const peer = openPeer(master, O_PATH);
  try {
    const st = fstat(peer);
    const path = `/proc/self/fd/${peer}`;
    const uid = caller ? caller.uid : node.uid;
    const gid = !caller || node.gid === caller.gid || node.gid === st.gid ? node.gid : caller.gid;
    if (st.uid !== uid || st.gid !== gid) chownSync(path, uid, gid);
    if ((st.mode & 0o7777) !== node.mode) chmodSync(path, node.mode);
  } finally {
    closeQuietly(peer);
  }
}

function isZero(t: Termios): boolean {
  return !t.iflag && !t.oflag && !t.cflag && !t.lflag && !t.line && t.cc.every((c) => !c);
}
