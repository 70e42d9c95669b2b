// Who may do what (DESIGN 9): root anything; anyone else only their own dumpable processes,
// their own checkpoints and the restores they started.

import { stat } from 'node:fs/promises';

import { TtycrError } from '../../rpc-schema/errors.js';
import { readTaskCreds } from '../tty/proc.js';

/** The credentials of the process at the other end of a connection (SO_PEERCRED). */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export function isRoot(peer: PeerCred): boolean {
  return peer.uid === 0;
}

/** Whether the caller may see a thing owned by `ownerUid` (listings filter with this). */
export function maySee(peer: PeerCred, ownerUid: number): boolean {
  return isRoot(peer) || peer.uid === ownerUid;
}

/**
 * Throws unless the caller may checkpoint `pid`: root may; anyone else only a process whose
 * uids and gids are all the caller's (as ptrace requires) and that is dumpable. A process that
 * is not dumpable has its /proc/PID directory owned by root, which is the check used here.
 */
export async function checkMayDump(peer: PeerCred, pid: number): Promise<void> {
  const ids = readTaskCreds(pid);
  if (isRoot(peer)) return;

  const denied = (why: string): TtycrError =>
    new TtycrError('PERMISSION_DENIED', `may not checkpoint process ${pid}: ${why}`, { pid });
  if (ids.uids.length === 0 || ids.uids.some((uid) => uid !== peer.uid)) {
    throw denied(`it runs as uid ${ids.uids.join('/')}`);
  }
  if (ids.gids.length === 0 || ids.gids.some((gid) => gid !== peer.gid)) {
    throw denied(`it runs as gid ${ids.gids.join('/')}`);
  }

  let owner: number;
  try {
    owner = (await stat(`/proc/${pid}`)).uid;
  } catch {
    throw new TtycrError('NO_SUCH_PROCESS', `no process ${pid}`, { pid });
  }
  if (owner !== peer.uid) throw denied('it is not dumpable');
}
