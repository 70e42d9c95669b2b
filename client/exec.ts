// execClaimed: runs a command on the fds a claim brought, each at its original fd number, in a
// new session whose controlling tty is the restored one, its process group in the foreground.
//
// Node cannot fork, and setsid() fails in a process-group leader, so the work is split: spawn()
// with `detached` has libuv call setsid() in the child and dup2() each fd to its number; the
// child is exec-shim, which (already a session leader) does TIOCSCTTY, re-applies what the
// dup2 dance changed, and execvp()s the command, so the command keeps the shim's pid.

import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { closeQuietly } from '../daemon/sys/fd.js';
import type { Result } from '../rpc-schema/methods.js';
import type { ShimSpec } from './exec-shim.js';

export interface ExecOptions {
  /** Make the restored tty the controlling tty where the claim names one. Default true. */
  ctty?: boolean;
  /** Environment of the command; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the command; default this process's. */
  cwd?: string;
}

/** Where this module runs from: the shim is its sibling, .ts under a loader, .js when built. */
const here = fileURLToPath(import.meta.url);
const shimPath = here.replace(/exec\.(ts|js)$/, 'exec-shim.$1');

/**
 * Spawns `cmd args` through the shim and closes this process's copies of `fds` (which the
 * claim gave, in the order of `claim.fds`). The returned child is the command itself.
 */
export function execClaimed(
  claim: Result<'restore.claim'>,
  fds: readonly number[],
  cmd: string,
  args: readonly string[],
  options: ExecOptions = {},
): ChildProcess {
  try {
    const { stdio, spec } = layout(claim, fds, options.ctty ?? true);
    const shimArgs = [...process.execArgv, shimPath, JSON.stringify(spec), '--', cmd, ...args];
    return spawn(process.execPath, shimArgs, {
      stdio,
      // libuv calls setsid() in the child for a detached spawn: the session the ctty needs.
      detached: spec.ctty !== null,
      env: options.env ?? process.env,
      cwd: options.cwd ?? process.cwd(),
    });
  } finally {
    // The child has its own copies now: nothing but it keeps the tty open.
    for (const fd of fds) closeQuietly(fd);
  }
}

/** The child's fd table (stdio[N] = our fd for its fd N) and what the shim must still do. */
function layout(
  claim: Result<'restore.claim'>,
  fds: readonly number[],
  ctty: boolean,
): { stdio: StdioOptions; spec: ShimSpec } {
  if (fds.length !== claim.fds.length) {
    throw new Error(`exec: ${fds.length} fds for a claim that lists ${claim.fds.length}`);
  }

  const placed = new Map<number, number>();
  claim.fds.forEach((entry, i) => {
    if (entry.fd >= 0) placed.set(entry.fd, fds[i]!);
  });
  const top = Math.max(2, ...placed.keys());

  // The command always gets a session of its own, even when the task was not the session
  // leader (claim.ctty.leader false): the session the task was in is gone with its leader, and
  // a process can only join a session that exists. The restored tty becomes its controlling
  // tty all the same.
  //
  // A ctty no fd held (fd -1) goes to the first number above the others; the shim closes it.
  const cttyEntry = ctty && claim.ctty ? claim.fds[claim.ctty.fdIndex] : undefined;
  let cttyFd: number | null = null;
  let closeCtty = false;
  if (cttyEntry && claim.ctty) {
    cttyFd = cttyEntry.fd >= 0 ? cttyEntry.fd : top + 1;
    closeCtty = cttyEntry.fd < 0;
    if (closeCtty) placed.set(cttyFd, fds[claim.ctty.fdIndex]!);
  }

  const size = Math.max(top, cttyFd ?? 0) + 1;
  const stdio: (number | 'inherit' | 'ignore')[] = [];
  for (let n = 0; n < size; n++) stdio.push(placed.get(n) ?? (n <= 2 ? 'inherit' : 'ignore'));

  const spec: ShimSpec = {
    ctty: cttyFd,
    closeCtty,
    foreground: claim.ctty?.foreground ?? false,
    fds: claim.fds
      .filter((entry) => entry.fd >= 0)
      .map((entry) => ({
        fd: entry.fd,
        flags: entry.flags,
        ownerType: entry.owner?.self ? entry.owner.type : null,
      })),
    devtty: claim.fds.filter((e) => e.end === 'ctty' && e.fd >= 0).map((e) => e.fd),
  };
  return { stdio, spec };
}
