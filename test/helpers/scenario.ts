// The harness every engine scenario uses: hold ptys in a real process, checkpoint it, kill it,
// restore, and read the state back from the restored fds.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

import type { Checkpoint } from '../../rpc-schema/image.js';
import * as fd from '../../daemon/sys/fd.js';
import * as pty from '../../daemon/sys/pty.js';
import * as tio from '../../daemon/sys/termios.js';
import { dump, restore, type Restored, type RestoreOptions } from '../../daemon/tty/index.js';
import { startHolder, type Holder } from './holder.js';
import type { HolderSpec } from './holder-spec.js';

let nextId = 0;

/** Starts a holder, checkpoints it (and its child), and kills both. */
export async function checkpointHolder(
  spec: HolderSpec,
  options: { freeze?: boolean; data?: boolean } = {},
): Promise<{ holder: Holder; checkpoint: Checkpoint }> {
  const holder = await startHolder(spec);
  let checkpoint: Checkpoint;
  try {
    const pids = holder.child ? [holder.pid, holder.child] : [holder.pid];
    checkpoint = await dump(pids, {
      id: `test-${process.pid}-${nextId++}`,
      uid: 0,
      ...options,
    });
  } finally {
    await holder.kill();
  }
  await waitReleased(checkpoint);
  return { holder, checkpoint };
}

/**
 * Waits until no pts node of the checkpoint's ptys is left: the kernel closes a killed task's
 * files a moment after it is reaped, so until then a restore at the same index finds it taken.
 */
export async function waitReleased(checkpoint: Checkpoint): Promise<void> {
  const host = statSync('/dev/pts').dev;
  const nodes = checkpoint.ttys
    .filter((tty) => tty.devpts === host)
    .map((tty) => `/dev/pts/${tty.index}`);
  const deadline = Date.now() + 5000;
  while (nodes.some((node) => existsSync(node)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function restoreIt(checkpoint: Checkpoint, options: RestoreOptions = {}): Restored {
  return restore(checkpoint, options);
}

/** The daemon fd of the first restored fd of `end` on tty `tty`. */
export function fdOf(restored: Restored, tty: number, end: 'master' | 'slave'): number {
  for (const task of restored.tasks) {
    const found = task.fds.find((f) => f.tty === tty && f.end === end);
    if (found) return found.daemonFd;
  }
  throw new Error(`no restored ${end} for tty ${tty}`);
}

/** Everything the kernel says about a pty, read through its master (and pts, if given). */
export function readState(master: number, slave: number | null) {
  return {
    index: pty.getPtyIndex(master),
    locked: pty.getPtyLock(master),
    packet: pty.getPacketMode(master),
    termios: tio.tcgets2(master),
    lockedTermios: tio.getLockedTermios(master),
    winsize: tio.getWinsize(master),
    masterExclusive: tio.getExclusive(master),
    exclusive: slave === null ? null : tio.getExclusive(slave),
    ldisc: slave === null ? null : tio.getLineDiscipline(slave),
  };
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export function ptyCount(): number {
  return Number(readFileSync('/proc/sys/kernel/pty/nr', 'latin1'));
}

/** Reads what arrives on `fd` within `ms`, polling; returns the bytes. */
export function drain(fdNum: number, ms = 500): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(fd.pollOne(fdNum, fd.POLLIN, 20) & fd.POLLIN)) {
      if (chunks.length) break;
      continue;
    }
    const n = fd.read(fdNum, buf);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** Writes `text` on one end and returns what the other end reads. */
export function send(from: number, to: number, text: string): string {
  fd.writeAll(from, Buffer.from(text));
  return drain(to).toString('latin1');
}
