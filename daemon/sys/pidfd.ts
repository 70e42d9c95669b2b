// pidfd_open, pidfd_getfd and kcmp: taking another task's open files without stopping it.

import { check, libc, syscallNumber } from './libc.js';

const syscall3 = libc.func('long syscall(long number, int a, int b, unsigned int c)');
const syscall4 = libc.func(
  'long syscall(long number, int pidfd, int sig, void *info, unsigned int f)',
);
const syscall6 = libc.func(
  'long syscall(long number, int pid1, int pid2, int type, unsigned long a, unsigned long b)',
);

const PIDFD_OPEN = syscallNumber('pidfd_open');
const PIDFD_GETFD = syscallNumber('pidfd_getfd');
const KCMP = syscallNumber('kcmp');
const PIDFD_SEND_SIGNAL = syscallNumber('pidfd_send_signal');
const KCMP_FILE = 0; // linux/kcmp.h

/** pidfd_open(2). The returned fd is close-on-exec. */
export function pidfdOpen(pid: number): number {
  return check('pidfd_open', `pid ${pid}`, () => Number(syscall3(PIDFD_OPEN, pid, 0, 0)));
}

/**
 * pidfd_getfd(2): a new fd in this process for the open file behind `targetFd` in the task.
 * It shares the open file description (flags, owner, position), exactly like a dup across
 * processes; it needs PTRACE_MODE_ATTACH_REALCREDS on the task. Close-on-exec.
 */
export function pidfdGetfd(pidfd: number, targetFd: number, pid: number): number {
  return check('pidfd_getfd', `pid ${pid} fd ${targetFd}`, () =>
    Number(syscall3(PIDFD_GETFD, pidfd, targetFd, 0)),
  );
}

/**
 * kcmp(KCMP_FILE) on two of this process's own fds: 0 when they share one open file
 * description, otherwise 1 or 2 as an ordering of the two (stable, but not the real addresses).
 */
export function compareOpenFiles(fd1: number, fd2: number): number {
  const pid = process.pid;
  return check('kcmp KCMP_FILE', `fds ${fd1} ${fd2}`, () =>
    Number(syscall6(KCMP, pid, pid, KCMP_FILE, fd1, fd2)),
  );
}

/** pidfd_send_signal(2): a signal to exactly the process the pidfd names, never a reused pid. */
export function pidfdSendSignal(pidfd: number, signal: number, pid: number): void {
  check('pidfd_send_signal', `pid ${pid}`, () =>
    Number(syscall4(PIDFD_SEND_SIGNAL, pidfd, signal, null, 0)),
  );
}
