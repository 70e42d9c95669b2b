// ptrace(2) for freezing: PTRACE_SEIZE and PTRACE_INTERRUPT stop a thread without a signal, so
// its parent (a shell, tmux) sees no stop and neither resumes it nor takes the terminal's
// foreground back. Requests must come from the thread that seized: every call here runs on the
// event loop's thread.

import { check, libc } from './libc.js';

const ptrace_ = libc.func('long ptrace(int request, int pid, void *addr, void *data)');
const waitpid_ = libc.func('int waitpid(int pid, _Out_ int *status, int options)');

// linux/ptrace.h and linux/wait.h.
const PTRACE_DETACH = 17;
const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;
const WNOHANG = 1;
const WALL = 0x40000000;

/** PTRACE_SEIZE: become the thread's tracer; it keeps running, and nothing is sent to it. */
export function ptraceSeize(tid: number): void {
  check('ptrace PTRACE_SEIZE', `tid ${tid}`, () => Number(ptrace_(PTRACE_SEIZE, tid, null, null)));
}

/** PTRACE_INTERRUPT: the seized thread stops as soon as it can ('t' in /proc). */
export function ptraceInterrupt(tid: number): void {
  check('ptrace PTRACE_INTERRUPT', `tid ${tid}`, () =>
    Number(ptrace_(PTRACE_INTERRUPT, tid, null, null)),
  );
}

/** PTRACE_DETACH with no signal: the stopped thread runs on as if nothing had happened. */
export function ptraceDetach(tid: number): void {
  check('ptrace PTRACE_DETACH', `tid ${tid}`, () =>
    Number(ptrace_(PTRACE_DETACH, tid, null, null)),
  );
}

/**
 * waitpid(tid, WNOHANG | __WALL) as the thread's tracer: 0 while nothing is to report, the tid
 * once it reported (a stop, or its exit, which hands a dead tracee back to its real parent).
 */
export function waitTracee(tid: number): number {
  const status = [0];
  return check('waitpid', `tid ${tid}`, () => waitpid_(tid, status, WNOHANG | WALL));
}
