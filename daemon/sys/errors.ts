// SysError: the one error type the libc wrappers throw, naming the call, the errno and the object.

import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // EAGAIN and EWOULDBLOCK share a number; keep the first name, which is the usual one.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The symbolic name of an errno value (`EBUSY`), or `errno N` for one Node does not know. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/**
 * A failed system call. `message` reads `ioctl TIOCGPTN fd 12: ENOTTY`: the call, the object it
 * was made on, and the errno name, so that a log line or an RPC error needs no other context.
 */
export class SysError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly code: string;
  readonly target: string;

  constructor(call: string, errno: number, target: string) {
    const code = errnoName(errno);
    super(target ? `${call} ${target}: ${code}` : `${call}: ${code}`);
    this.name = 'SysError';
    this.call = call;
    this.errno = errno;
    this.code = code;
    this.target = target;
  }
}

/** Whether `err` is a SysError carrying one of the given errno names. */
export function isErrno(err: unknown, ...codes: string[]): err is SysError {
  return err instanceof SysError && codes.includes(err.code);
}
