/*
 * The tty engine: checkpoint (dump) and restore of the terminals a set of tasks holds.
 *
 * What it handles. Unix98 ptys, from either end: the master (an fd opened on a ptmx, rdev 5:2 or
 * majors 128-135), the pts (majors 136-143, rdev 136:N for /dev/pts/N), /dev/tty fds on a pts
 * (5:0; TIOCGDEV names the pts behind it), and O_PATH fds naming a pts. Consoles, virtual
 * consoles and serial ttys are recognised by device number (classify.ts) and refused with
 * UNSUPPORTED_TTY naming the pid, fd and path; nothing is skipped silently.
 *
 * How a pair is identified. A master answers TIOCGPTN with its index, and an O_PATH TIOCGPTPEER
 * fd on it tells its devpts instance (st_dev) without opening the pts. A pts fd's fstat gives the
 * same two numbers. A pty is the pair (devpts, index); fds of one open file description are one
 * entry, found with kcmp.
 *
 * How files are taken. Each task is pinned by a pidfd (tasks.ts) and, when freezing, stopped
 * before the caller's right to it is checked again. pidfd_getfd gives the daemon the target's
 * own open file, with no ptrace stop and no code run in the target; opening /proc/PID/fd/N
 * instead would make a new pty for a master. The dump only reads, except with --data, where the
 * queues are read out and written back byte for byte (drivers/pty-data.ts); a dump without
 * --kill leaves the tasks as they were.
 *
 * How a pty comes back. The kernel hands out the lowest free index, so masters are opened until
 * the wanted index comes up (alloc.ts); pts fds are opened with TIOCGPTPEER, never by a path, so
 * they are in the right devpts instance; everything is opened O_NOCTTY so the daemon never gains
 * a controlling tty. Paths inside a task's root are looked up there (inroot.ts). State is set in
 * the order drivers/pty-restore.ts explains. Any failure closes every fd the restore opened.
 *
 * Sessions. The daemon cannot put another process in a session. The image keeps each task's
 * session, process group and controlling tty (also one no fd holds), and each tty's session and
 * foreground group; the restore result tells each task whether to setsid, TIOCSCTTY and take the
 * foreground, which the client library does before exec.
 *
 * Glossary. master: the ptmx end (the API also says pty). pts: the other end; "slave" where the
 * image names it (end 'slave', slaveHeld), "peer" for a pts fd opened from its master. ctty: a
 * controlling tty, and an image file opened through /dev/tty. console: whoever takes a master
 * no checkpointed task held (task 0 of a restore; a runtime's console socket).
 */

export { dump } from './dump.js';
export { restore } from './restore.js';
export type * from './types.js';
