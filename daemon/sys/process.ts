// Process calls the exec shim needs and Node does not offer: execvp, and the process group.

import { check, libc } from './libc.js';

const execvp_ = libc.func('int execvp(const char *file, const char **argv)');
const getpgrp_ = libc.func('int getpgrp()');

/**
 * execvp(3): replaces this process with `file` (looked up in PATH), argv[0] included in `argv`.
 * Returns only by throwing. Every fd not marked close-on-exec stays open in the new program.
 */
export function execvp(file: string, argv: readonly string[]): never {
  // koffi turns the array into a NULL-terminated char *[] for the duration of the call.
  const args = [...argv, null];
  check('execvp', file, () => execvp_(file, args));
  throw new Error('execvp returned without an error');
}

/** getpgrp(2): this process's group. */
export function getpgrp(): number {
  return getpgrp_();
}
