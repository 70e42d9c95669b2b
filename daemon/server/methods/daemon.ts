// daemon.status and rpc.discover.

import { buildOpenRpc } from '../../../rpc-schema/openrpc.js';
import { isRoot, maySee, type PeerCred } from '../access.js';
import type { DaemonParts, Handlers } from './context.js';

export function daemonMethods(parts: DaemonParts): Handlers<'daemon.status'> {
  /** Root sees every checkpoint counted; anyone else only their own. */
  const checkpoints = async (peer: PeerCred): Promise<number> =>
    isRoot(peer) ? parts.store.count() : parts.store.countOwnedBy(peer.uid);

  return {
    'daemon.status': async (_params, { peer }) => ({
      version: parts.version,
      pid: process.pid,
      uptimeSeconds: (Date.now() - parts.startedAt.getTime()) / 1000,
      stateDir: parts.server.stateDir,
      socket: parts.server.socket,
      checkpoints: await checkpoints(peer),
      restores: parts.restores.list().filter((entry) => maySee(peer, entry.uid)).length,
      pendingFds: parts.restores.pendingFds((uid) => maySee(peer, uid)),
      connections: parts.server.connections(),
      limits: { ...parts.server.limits },
    }),
  };
}

/** rpc.discover's answer, built once: the schemas do not change while the daemon runs. */
export function discoverMethod(version: string): () => Record<string, unknown> {
  let document: Record<string, unknown> | null = null;
  return () => (document ??= buildOpenRpc(version));
}
