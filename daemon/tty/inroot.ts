// Looking up a path inside a task's root (a container's /dev/pts) without leaving it: symlinks
// and `..` resolve against that root, never against the daemon's, and magic links are refused.

import {
  closeQuietly,
  O_CLOEXEC,
  O_PATH,
  openat2,
  openPath,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
} from '../sys/fd.js';

/** An O_PATH fd on `path` (relative or absolute) as the task with `pid` sees it. */
export function openInRoot(pid: number, path: string): number {
  const root = openPath(`/proc/${pid}/root`, O_PATH | O_CLOEXEC);
  try {
    const inner = path.replace(/^\/+/, '') || '.';
    return openat2(root, inner, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  } finally {
    closeQuietly(root);
  }
}

/** `/proc/PID/root/REST` split into the pid and the path inside that root, or null. */
export function splitProcRoot(path: string): { pid: number; inner: string } | null {
  const m = /^\/proc\/([1-9][0-9]*)\/root(\/.*)?$/.exec(path);
  return m ? { pid: Number(m[1]), inner: m[2] ?? '/' } : null;
}
