// daemon.status and rpc.discover.

import { buildOpenRpc } from '../../../rpc-schema/openrpc.js';
import type { DaemonParts, Handlers } from './context.js';

export function daemonMethods(parts: DaemonParts): Handlers<'daemon.status'> {
  return {
    'daemon.status': async () => ({
      version: parts.version,
      pid: process.pid,
      uptimeSeconds: (Date.now() - parts.startedAt.getTime()) / 1000,
      stateDir: parts.server.stateDir,
      socket: parts.server.socket,
      checkpoints: await parts.store.count(),
      restores: parts.restores.list().length,
      pendingFds: parts.restores.pendingFds(),
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
