// Queued data of a pty: bytes typed toward the pts reader that it has not read (input), and
// bytes the pts side wrote that the master has not read (output). Both are read out and written
// back byte for byte: output bypasses OPOST, so "\r\n" stays "\r\n"; input in canonical mode
// keeps its line structure, a partial line included, by writing it back through a canonical
// line discipline with every byte that would act as a control character escaped by VLNEXT.
//
// The kernel processes bytes written to one end on a workqueue, later; each step therefore
// waits until the bytes have arrived (by their echo, or by TIOCINQ) before the termios changes.

import { TtycrError } from '../../../rpc-schema/errors.js';
import { isErrno } from '../../sys/errors.js';
import {
  closeQuietly,
  getfl,
  O_ACCMODE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  pollOne,
  read,
  writeAll,
} from '../../sys/fd.js';
import { getPtyIndex, getPtyLock, openPeer, setPtyLock } from '../../sys/pty.js';
import {
  ECHO,
  getLockedTermios,
  ICANON,
  IEXTEN,
  inputQueued,
  IXON,
  OPOST,
  setLockedTermios,
  tcgets2,
  tcsets2,
  type Termios,
  VEOF,
  VEOL,
  VEOL2,
  VERASE,
  VKILL,
  VLNEXT,
  VMIN,
  VREPRINT,
  VSTART,
  VSTOP,
  VTIME,
  VWERASE,
} from '../../sys/termios.js';

export interface Queued {
  input: Buffer;
  output: Buffer;
}

const WAIT_MS = 2000;
const NEWLINE = 0x0a;

/**
 * What n_tty's read buffer holds (N_TTY_BUF_SIZE less one). A queue this full may have more
 * behind it in the tty's flip buffers, which no write can be sure to put back in full: such a
 * queue is refused before a byte of it is read.
 */
export const QUEUE_ROOM = 4095;

/**
 * Reads both queues of a pty and puts them back, so the tasks (if they go on) see no change.
 * Needs the master; the input queue also needs a pts fd (without one it is left alone). What was
 * read is written back even when reading the rest failed.
 */
export function readQueued(master: number, slave: number | null, packet: boolean): Queued {
  if (inputQueued(master) >= QUEUE_ROOM) throw queueFull(master, 'output');
  const output = drain(master, packet);
  let input: Buffer = Buffer.alloc(0);
  try {
    if (slave !== null) input = withPts(master, slave, 'read', (pts) => readInput(master, pts));
  } finally {
    writeQueued(master, slave, packet, { input, output });
  }
  return { input, output };
}

/**
 * Writes queued data into a pty whose queues are empty, under its current termios. Output goes
 * in through a pts: `slave`, or one opened for the write when no task holds one.
 */
export function writeQueued(master: number, slave: number | null, packet: boolean, q: Queued) {
  if (!q.input.length && !q.output.length) return;
  const final = tcgets2(master);
  withUnlockedTermios(master, () => {
    if (q.input.length) writeInput(master, final, packet, q.input);
    if (q.output.length) {
      withPts(master, slave, 'write', (pts) => writeOutput(master, pts, final, q.output));
    }
  });
}

function queueFull(master: number, queue: 'input' | 'output'): TtycrError {
  return new TtycrError(
    'LIMIT_EXCEEDED',
    `pty ${getPtyIndex(master)}: its ${queue} queue is full (${QUEUE_ROOM} bytes, and more may ` +
      'wait behind them), so it cannot be saved whole; let its reader drain it, or ' +
      'checkpoint without --data',
    { limit: 'queued-bytes', queue },
  );
}

/**
 * Runs `fn` on `slave` when its access mode allows `access` (a task may hold its pts read-only),
 * or else on a pts opened from the master for it (unlocked for the open).
 */
function withPts<T>(
  master: number,
  slave: number | null,
  access: 'read' | 'write',
  fn: (pts: number) => T,
): T {
  if (slave !== null && allows(slave, access)) return fn(slave);
  const locked = getPtyLock(master);
  if (locked) setPtyLock(master, false);
  try {
    const pts = openPeer(master, O_RDWR | O_NONBLOCK);
    try {
      return fn(pts);
    } finally {
      closeQuietly(pts);
    }
  } finally {
    if (locked) setPtyLock(master, true);
  }
}

function allows(fd: number, access: 'read' | 'write'): boolean {
  const mode = getfl(fd) & O_ACCMODE;
  return mode === O_RDWR || mode === (access === 'read' ? O_RDONLY : O_WRONLY);
}

/** Everything the master can read now, packet headers removed. */
function drain(master: number, packet: boolean): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  while (pollOne(master, POLLIN, 0) & POLLIN) {
    const n = readSome(master, buf);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(packet ? 1 : 0, n)));
  }
  return Buffer.concat(chunks);
}

/** Unread input, a partial canonical line included: read raw with VMIN 0, VTIME 0. */
function readInput(master: number, slave: number): Buffer {
  const saved = tcgets2(master);
  return withUnlockedTermios(master, () => {
    const cc = [...saved.cc];
    cc[VMIN] = 0;
    cc[VTIME] = 0;
    tcsets2(master, { ...saved, lflag: saved.lflag & ~ICANON, cc });
    try {
      // Out of canonical mode TIOCINQ counts every byte, a partial line's too.
      if (inputQueued(slave) >= QUEUE_ROOM) throw queueFull(master, 'input');
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      for (let n = readSome(slave, buf); n > 0; n = readSome(slave, buf)) {
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally {
      tcsets2(master, saved);
    }
  });
}

function readSome(fd: number, buf: Buffer): number {
  try {
    return read(fd, buf);
  } catch (err) {
    if (isErrno(err, 'EAGAIN', 'EIO')) return 0;
    throw err;
  }
}

/**
 * Input goes in through the master under a termios that changes nothing: no input mapping, no
 * signals, no output processing, echo on (each byte that lands echoes exactly one byte, which
 * is how we know it landed), and in canonical mode only the terminators of the final termios
 * plus a VEOF and a VLNEXT of our choosing. A NUL in a canonical queue is the mark an EOF leaves.
 *
 * With packet mode on, a pty reports to its master when flow control (IXON with ^S and ^Q)
 * turns on or off; so IXON stays as it is when it is on, and its start and stop characters are
 * escaped. Raw input cannot escape them: if it holds one, IXON goes off for the write, and the
 * master may see a flow control packet.
 */
function writeInput(master: number, final: Termios, packet: boolean, input: Buffer): void {
  const canonical = (final.lflag & ICANON) !== 0;
  const flowChars = [final.cc[VSTART]!, final.cc[VSTOP]!];
  const flow =
    (final.iflag & IXON) !== 0 && (canonical || !flowChars.some((c) => input.includes(c)));
  const cc = [...final.cc];
  let bytes = input;
  let echoes = input.length;
  if (canonical) {
    for (const i of [VERASE, VKILL, VWERASE, VREPRINT]) cc[i] = 0;
    const taken = [NEWLINE, final.cc[VEOL]!, final.cc[VEOL2]!, ...(flow ? flowChars : [])];
    const [eof, lnext] = spareControlChars(taken);
    cc[VEOF] = eof;
    cc[VLNEXT] = lnext;
    ({ bytes, echoes } = escapeCanonical(input, [eof, lnext, ...(flow ? flowChars : [])], eof));
  }
  const lflag = ECHO | (canonical ? ICANON | IEXTEN : 0);
  tcsets2(master, { ...final, iflag: flow ? IXON : 0, oflag: 0, lflag, cc });
  try {
    writeAll(master, bytes);
    discard(master, packet, echoes);
  } finally {
    tcsets2(master, final);
  }
}

/** Two control characters that the final termios does not use as line terminators. */
function spareControlChars(taken: number[]): [number, number] {
  const free: number[] = [];
  for (let c = 1; c < 0x20 && free.length < 2; c++) if (!taken.includes(c)) free.push(c);
  return [free[0]!, free[1]!];
}

/** Escapes `special` bytes with VLNEXT (the second of them); a NUL becomes `eof`. */
function escapeCanonical(input: Buffer, special: number[], eof: number) {
  const lnext = special[1]!;
  const out: number[] = [];
  let echoes = 0;
  for (const b of input) {
    if (b === 0) {
      out.push(eof);
      continue;
    }
    if (special.includes(b)) out.push(lnext);
    out.push(b);
    echoes++;
  }
  return { bytes: Buffer.from(out), echoes };
}

/** Reads and drops `count` bytes of echo from the master, waiting for them to arrive. */
function discard(master: number, packet: boolean, count: number): void {
  const buf = Buffer.alloc(65536);
  const deadline = Date.now() + WAIT_MS;
  let seen = 0;
  while (seen < count) {
    const left = deadline - Date.now();
    if (left <= 0 || !(pollOne(master, POLLIN, left) & POLLIN)) {
      throw new TtycrError(
        'BUSY',
        `queued input: ${seen} of ${count} bytes echoed on master fd ${master} in ${WAIT_MS} ms`,
      );
    }
    const n = readSome(master, buf);
    seen += Math.max(0, packet ? n - 1 : n);
  }
}

/** Output goes in through a pts with OPOST off, and lands in the master's queue as it was. */
function writeOutput(master: number, slave: number, final: Termios, output: Buffer): void {
  tcsets2(master, { ...final, oflag: final.oflag & ~OPOST });
  try {
    const before = inputQueued(master);
    writeAll(slave, output);
    const deadline = Date.now() + WAIT_MS;
    while (inputQueued(master) < before + output.length) {
      if (Date.now() > deadline) {
        throw new TtycrError(
          'BUSY',
          `queued output: ${output.length} bytes missed master fd ${master} after ${WAIT_MS} ms`,
        );
      }
      pollOne(master, POLLIN, 1);
    }
  } finally {
    tcsets2(master, final);
  }
}

/** Locked termios bits would keep the temporary termios from taking: clear them meanwhile. */
function withUnlockedTermios<T>(master: number, fn: () => T): T {
  const locked = getLockedTermios(master);
  const any =
    locked.iflag || locked.oflag || locked.cflag || locked.lflag || locked.cc.some((c) => c);
  if (!any) return fn();
  setLockedTermios(master, {
    ...locked,
    iflag: 0,
    oflag: 0,
    cflag: 0,
    lflag: 0,
    cc: locked.cc.map(() => 0),
  });
  try {
    return fn();
  } finally {
    setLockedTermios(master, locked);
  }
}
