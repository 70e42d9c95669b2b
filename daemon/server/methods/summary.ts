// Short views of images for replies: a tty as a listing row, a checkpoint as a list entry.

import type { Checkpoint, Tty } from '../../../rpc-schema/image.js';
import type { TtySummary } from '../../../rpc-schema/methods.js';

// asm-generic/termbits.h
const ICANON = 0o2;
const ISIG = 0o1;
const ECHO = 0o10;

function ttyPath(tty: Tty): string {
  switch (tty.kind) {
    case 'pty':
      return `/dev/pts/${tty.index}`;
    case 'ctty':
      return '/dev/tty';
    case 'console':
      return '/dev/console';
    case 'vt':
      return `/dev/tty${tty.index}`;
    case 'serial':
      return `serial ${tty.index}`;
  }
}

function ttyModes(tty: Tty): string[] {
  const modes: string[] = [];
  if (tty.termios) {
    const lflag = tty.termios.lflag;
    if (lflag & ICANON) modes.push('canon');
    else if (!(lflag & ISIG)) modes.push('raw');
    if (lflag & ECHO) modes.push('echo');
  }
  if (tty.packet) modes.push('packet');
  if (tty.exclusive || tty.masterExclusive) modes.push('excl');
  if (tty.locked) modes.push('locked');
  if (tty.hungUp) modes.push('hungup');
  if (tty.data) modes.push('data');
  return modes;
}

export function ttySummary(tty: Tty): TtySummary {
  const size = tty.winsize ? `${tty.winsize.cols}x${tty.winsize.rows}` : '-';
  return {
    id: tty.id,
    kind: tty.kind,
    index: tty.index,
    path: ttyPath(tty),
    size,
    modes: ttyModes(tty),
  };
}

export function checkpointSummary(checkpoint: Checkpoint) {
  return {
    id: checkpoint.id,
    name: checkpoint.name,
    createdAt: checkpoint.createdAt,
    uid: checkpoint.uid,
    pids: checkpoint.tasks.map((task) => task.pid),
    ttys: checkpoint.ttys.length,
    files: checkpoint.files.length,
  };
}
