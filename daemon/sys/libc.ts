// The libc handle and the calling convention every wrapper in daemon/sys shares.

import koffi from 'koffi';

import { SysError } from './errors.js';

/** The C library, loaded once for the whole process. */
export const libc = koffi.load('libc.so.6');

export { koffi };

const EINTR = 4;

/**
 * Runs one libc call that returns -1 and sets errno on failure. errno is read at once, before
 * anything else can touch it; EINTR is retried, since a signal must never fail a request.
 * `target` names the fd or path for the error message.
 */
export function check(call: string, target: string | number, invoke: () => number): number {
  for (;;) {
    const ret = invoke();
    if (ret !== -1) return ret;
    const errno = koffi.errno();
    if (errno !== EINTR) throw new SysError(call, errno, describe(target));
  }
}

function describe(target: string | number): string {
  return typeof target === 'number' ? `fd ${target}` : target;
}

/** Syscall numbers for calls glibc 2.36 may not wrap, per architecture (asm/unistd.h). */
type Syscall = 'pidfd_open' | 'pidfd_getfd' | 'pidfd_send_signal' | 'kcmp' | 'openat2';
const syscallNumbers: Record<string, Record<Syscall, number>> = {
  x64: { pidfd_open: 434, pidfd_getfd: 438, pidfd_send_signal: 424, kcmp: 312, openat2: 437 },
  arm64: { pidfd_open: 434, pidfd_getfd: 438, pidfd_send_signal: 424, kcmp: 272, openat2: 437 },
};

/** The number of a system call on this machine; throws on an architecture we do not know. */
export function syscallNumber(name: Syscall): number {
  const table = syscallNumbers[process.arch];
  if (!table) throw new Error(`ttycr supports x64 and arm64, not ${process.arch}`);
  return table[name];
}
