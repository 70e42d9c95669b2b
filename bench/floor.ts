// The floor: the system calls a dump and a restore of pty pairs make, bare in a loop, with no
// engine around them. The engine's figures are read against these.

import { readdirSync } from 'node:fs';

import * as fd from '../daemon/sys/fd.js';
import { pidfdGetfd, pidfdOpen } from '../daemon/sys/pidfd.js';
import * as pty from '../daemon/sys/pty.js';
import * as tio from '../daemon/sys/termios.js';
import { classifyRdev } from '../daemon/tty/classify.js';
import { readFdInfo, readFdRdev, readTaskStat } from '../daemon/tty/proc.js';

/** The calls dump() makes per fd of `pid`, without grouping, pairing or building an image. */
export function floorDump(pid: number): void {
  readTaskStat(pid);
  const pidfd = pidfdOpen(pid);
  const taken: number[] = [];
  let master = -1;
  const numbers = readdirSync(`/proc/${pid}/fd`).map(Number);
  for (const n of numbers.sort((a, b) => a - b)) {
    const kind = classifyRdev(readFdRdev(pid, n));
    if (kind !== 'ptmx' && kind !== 'pts') continue;
    const ours = pidfdGetfd(pidfd, n, pid);
    taken.push(ours);
    readFdInfo(pid, n);
    fd.getownEx(ours);
    fd.getsig(ours);
    fd.fstat(ours);
    if (kind === 'ptmx') {
      master = ours;
      pty.getPtyIndex(ours);
      fd.closeQuietly(pty.openPeer(ours, fd.O_PATH));
      continue;
    }
    // A pts: the engine reads the pty's state once, through its master.
    tio.getLineDiscipline(ours);
    if (master < 0) continue;
    tio.getExclusive(ours);
    fd.pollOne(master, fd.POLLIN, 0);
    pty.getPtyLock(master);
    pty.getPacketMode(master);
    tio.getExclusive(master);
    tio.tcgets2(master);
    tio.getLockedTermios(master);
    tio.getWinsize(master);
    const peer = pty.openPeer(master, fd.O_PATH);
    fd.fstat(peer);
    fd.closeQuietly(peer);
    try {
      tio.getSession(master);
    } catch {
      // No session: ENOTTY, as in the engine.
    }
    tio.getForegroundGroup(master);
  }
  for (const ours of taken) fd.closeQuietly(ours);
  fd.closeQuietly(pidfd);
}

/** The calls restore() makes for `n` pty pairs with the state a fresh pty has; returns fds. */
export function floorRestore(n: number, termios: tio.Termios, ws: tio.Winsize): number[] {
  const fds: number[] = [];
  for (let i = 0; i < n; i++) {
    const master = pty.openPtmx('/dev/ptmx');
    pty.getPtyIndex(master);
    pty.setPtyLock(master, false);
    const slave = pty.openPeer(master, fd.O_RDWR | fd.O_NONBLOCK);
    const node = pty.openPeer(master, fd.O_PATH);
    fd.fstat(node);
    fd.closeQuietly(node);
    tio.tcsets2(master, termios);
    tio.setWinsize(master, ws);
    fd.setfl(slave, 0);
    fd.setfl(master, 0);
    fds.push(master, slave);
  }
  return fds;
}
