// restore.start, .claim, .list and .cancel: the engine's restore and the restores in flight.

import { TtycrError } from '../../../rpc-schema/errors.js';
import { checkMayDump, isRoot, maySee, type PeerCred } from '../access.js';
import { summarize } from '../restores.js';
import { type DaemonParts, type Handlers, loadVisible } from './context.js';

/** The longest time to live a caller other than root may ask for, in seconds. */
const MAX_USER_TTL = 3600;

type RestoreMethod = 'restore.start' | 'restore.claim' | 'restore.list' | 'restore.cancel';

export function restoreMethods(parts: DaemonParts): Handlers<RestoreMethod> {
  const { store, restores, engine, log } = parts;

  return {
    'restore.start': async (params, { peer }) => {
      const checkpoint = await loadVisible(store, peer, params.id);
      if (params.ptmx) await checkPtmxAccess(peer, params.ptmx);
      restores.checkRoom(peer.uid, checkpoint.ttys.length);

      log.info('restore started', { checkpoint: checkpoint.id, uid: peer.uid });
      const restored = engine.restore(checkpoint, {
        // Not root: no line discipline, locked termios or pts owner it could not set itself.
        caller: isRoot(peer) ? undefined : { uid: peer.uid, gid: peer.gid },
        ...(params.ptmx ? { ptmx: params.ptmx } : {}),
        indexPolicy: params.indexPolicy,
        maxPtys: restores.ptyRoom(peer.uid),
        log,
      });
      // Someone else's fds held for a day would be a cheap way to pin daemon resources.
      const ttl =
        params.ttl === undefined || isRoot(peer) ? params.ttl : Math.min(params.ttl, MAX_USER_TTL);
      const entry = restores.add(checkpoint.id, peer.uid, restored, ttl);

      log.info('restore ready', {
        restore: entry.id,
        checkpoint: checkpoint.id,
        ttys: restored.ttys.length,
        tasks: restored.tasks.length,
      });
      return summarize(entry);
    },

    'restore.claim': ({ id, task }, call) => {
      const entry = restores.get(id, (uid) => maySee(call.peer, uid));

      const claim = restores.claim(entry, task);
      call.fds.push(...claim.fds);
      call.delivered = claim.settle;
      return claim.result;
    },

    'restore.list': (_params, { peer }) => ({
      restores: restores
        .list()
        .filter((entry) => maySee(peer, entry.uid))
        .map(summarize),
    }),

    'restore.cancel': ({ id }, { peer }) => {
      const closed = restores.cancel(restores.get(id, (uid) => maySee(peer, uid)));
      log.info('restore cancelled', { restore: id, closed, uid: peer.uid });
      return { id, closed };
    },
  };
}

/**
 * The daemon opens `ptmx` as root, so a caller who is not root may name only a ptmx anyone can
 * open, or one inside the root of a process they could ptrace (a container of their own).
 */
async function checkPtmxAccess(peer: PeerCred, ptmx: string): Promise<void> {
  if (isRoot(peer)) return;
  if (ptmx === '/dev/ptmx' || ptmx === '/dev/pts/ptmx') return;

  // Only a ptmx at its usual place in that root; the engine looks it up inside the root.
  const inProcessRoot = /^\/proc\/([1-9][0-9]*)\/root\/dev\/(pts\/)?ptmx$/.exec(ptmx);
  if (!inProcessRoot) {
    throw new TtycrError('PERMISSION_DENIED', `may not restore through ${ptmx}`, { ptmx });
  }
  await checkMayDump(peer, Number(inProcessRoot[1]));
}
