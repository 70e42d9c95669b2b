// The exec shim: started by execClaimed as a new session leader with the claimed fds in place,
// it takes the controlling tty and then becomes the command (execvp keeps its pid).
//
//   node exec-shim.js SPEC -- CMD [ARGS...]      SPEC: the ShimSpec as JSON

import { writeSync } from 'node:fs';

import { SysError } from '../daemon/sys/errors.js';
import {
  close,
  F_OWNER_PGRP,
  getfd,
  setfd,
  setfl,
  setownEx,
  SETFL_FLAGS,
  FD_CLOEXEC,
  getfl,
  dup3,
  O_ACCMODE,
  O_CLOEXEC,
  O_RDWR,
  openPath,
} from '../daemon/sys/fd.js';
import { execvp, getpgrp } from '../daemon/sys/process.js';
import { setControllingTty, setForegroundGroup } from '../daemon/sys/termios.js';

export interface ShimSpec {
  /** fd number of the tty to make the controlling tty; null: none. */
  ctty: number | null;
  /** The ctty fd was not one of the task's fds: close it once it is the controlling tty. */
  closeCtty: boolean;
  /** The claim says the task's group was in the foreground: set it so with TIOCSPGRP. */
  foreground: boolean;
  /** The placed fds: open flags to re-apply, and F_SETOWN_EX type when the owner was itself. */
  fds: { fd: number; flags: number; ownerType: number | null }[];
  /** fd numbers that were /dev/tty: reopened once the controlling tty is set. */
  devtty: number[];
}

function run(argv: string[]): never {
  const dashes = argv.indexOf('--');
  const spec = JSON.parse(argv[0]!) as ShimSpec;
  const command = argv.slice(dashes + 1);
  if (dashes !== 1 || command.length === 0) fail('usage: exec-shim SPEC -- CMD [ARGS...]', 2);

  // A session leader without a controlling tty takes one with TIOCSCTTY, and its process group
  // becomes the tty's foreground group.
  if (spec.ctty !== null) {
    setControllingTty(spec.ctty);
    // TIOCSCTTY sets the foreground group today; say it outright, so that a change of kernel
    // default cannot leave the command in the background. When the task was in the background,
    // the group that was in front is gone with its session, and nobody else could take the
    // terminal: the command's group stays in front rather than leave the tty with none.
    if (spec.foreground) setForegroundGroup(spec.ctty, getpgrp());
    if (spec.closeCtty) close(spec.ctty);
    reopenDevTty(spec);
  }

  for (const { fd, flags, ownerType } of spec.fds) {
    // libuv makes fds 0-2 blocking in a spawned child; the open file had its own flags.
    if ((getfl(fd) & SETFL_FLAGS) !== (flags & SETFL_FLAGS)) setfl(fd, flags & SETFL_FLAGS);
    // The command must inherit every placed fd, whatever the mark of the fd it came from.
    if (getfd(fd) & FD_CLOEXEC) setfd(fd, 0);
    if (ownerType !== null) {
      setownEx(fd, { type: ownerType, pid: ownerType === F_OWNER_PGRP ? getpgrp() : process.pid });
    }
  }

  // Node marks fds 0-15 close-on-exec at start (uv_disable_stdio_inheritance); the stdio the
  // command inherits from ttycr must survive the exec.
  for (const fd of [0, 1, 2]) {
    try {
      if (getfd(fd) & FD_CLOEXEC) setfd(fd, 0);
    } catch {
      // Not open: the command starts without it, as ttycr did.
    }
  }

  try {
    return execvp(command[0]!, command);
  } catch (err) {
    const notFound = err instanceof SysError && err.code === 'ENOENT';
    fail(
      `ttycr exec: ${command[0]}: ${notFound ? 'command not found' : (err as Error).message}`,
      notFound ? 127 : 126,
    );
  }
}

/**
 * A task's /dev/tty fds arrive as fds on its pts. Once that pts is the controlling tty, a fresh
 * open of /dev/tty is the same file the task had, so it takes their numbers.
 */
function reopenDevTty(spec: ShimSpec): void {
  for (const n of spec.devtty) {
    const flags = spec.fds.find((f) => f.fd === n)?.flags ?? O_RDWR;
    const devtty = openPath('/dev/tty', (flags & O_ACCMODE) | O_CLOEXEC);
    dup3(devtty, n, 0);
    close(devtty);
  }
}

/** Says why on stderr without Node's stream machinery (which would touch the tty) and exits. */
function fail(message: string, code: number): never {
  try {
    writeSync(2, message + '\n');
  } catch {
    // Nowhere to say it.
  }
  process.exit(code);
}

try {
  run(process.argv.slice(2));
} catch (err) {
  fail(`ttycr exec: ${(err as Error).message}`, 126);
}
