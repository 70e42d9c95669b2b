// How the CLI reports a failure: one line on stderr with the reason word and what to do, and an
// exit code from sysexits where one fits (README "Exit codes").

import { SysError } from '../daemon/sys/errors.js';
import { type ErrorReason, TtycrError } from '../rpc-schema/errors.js';
import { RpcError } from './client.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** EX_UNAVAILABLE: no daemon answers on the socket. */
export const EXIT_UNAVAILABLE = 69;
/** EX_NOPERM: the daemon (or the socket) refused the caller. */
export const EXIT_NOPERM = 77;

const advice: Record<ErrorReason, string> = {
  NOT_FOUND: "check the id with 'ttycr list' or 'ttycr restores'",
  NO_SUCH_PROCESS: 'check that the pid is running',
  PERMISSION_DENIED: 'run as root, or as the user who owns the processes and the restore',
  INDEX_BUSY: 'free that /dev/pts index, or restore with --index-policy any',
  UNSUPPORTED_TTY: 'only Unix98 ptys (/dev/ptmx, /dev/pts/N) can be checkpointed so far',
  IMAGE_CORRUPT: "the stored image is damaged or newer; remove it with 'ttycr rm'",
  ALREADY_CLAIMED: "a task's fds can be claimed once; restore the checkpoint again",
  EXPIRED: 'restore the checkpoint again, with a longer --ttl if needed',
  FDS_TRUNCATED: 'the fds did not all arrive; raise RLIMIT_NOFILE (ulimit -n) and retry',
  SYSCALL_FAILED: "a system call failed; the daemon's log has the details",
  LIMIT_EXCEEDED: 'the daemon is at a limit; retry later or raise it in its configuration',
  SHUTTING_DOWN: 'the daemon is stopping; retry once it is back',
  INVALID_IMAGE: 'the file is not a ttycr checkpoint image',
  BUSY: 'retry in a moment',
};

export interface Failure {
  code: number;
  line: string;
}

/** The exit code and the stderr line for anything a command threw. */
export function failureOf(err: unknown, socket: string): Failure {
  if (err instanceof TtycrError) {
    const code = err.reason === 'PERMISSION_DENIED' ? EXIT_NOPERM : EXIT_FAILED;
    return { code, line: `ttycr: ${err.reason}: ${err.message} (${advice[err.reason]})` };
  }

  if (err instanceof SysError && err.call === 'connect') {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      return {
        code: EXIT_UNAVAILABLE,
        line:
          `ttycr: UNAVAILABLE: no daemon on ${socket} (${err.code}) ` +
          '(start ttycrd, or point --socket or TTYCR_SOCKET at its socket)',
      };
    }
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      return {
        code: EXIT_NOPERM,
        line:
          `ttycr: PERMISSION_DENIED: may not connect to ${socket} (${err.code}) ` +
          "(run as root or join the socket's group)",
      };
    }
  }

  if (err instanceof RpcError) {
    return { code: EXIT_USAGE, line: `ttycr: INVALID_REQUEST: ${describeRpc(err)} (see --help)` };
  }
  if (err instanceof UsageError) {
    return { code: EXIT_USAGE, line: `ttycr: USAGE: ${err.message} (see --help)` };
  }

  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT_FAILED, line: `ttycr: FAILED: ${message}` };
}

/** A bad argument found after parsing (a pid that is not a number, a missing file). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Invalid params name the first offending field and zod's sentence for it. */
function describeRpc(err: RpcError): string {
  const issues = (err.data as { issues?: { path?: unknown[]; message?: string }[] } | undefined)
    ?.issues;
  const first = issues?.[0];
  if (!first) return err.message;
  const field = first.path?.length ? `${first.path.join('.')}: ` : '';
  return `${err.message}: ${field}${first.message ?? ''}`;
}
