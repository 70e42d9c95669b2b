// What every method handler gets: the call (peer, outgoing fds) and the daemon's parts.

import type { z } from 'zod';

import type { Checkpoint } from '../../../rpc-schema/image.js';
import type { MethodName, Result, methods } from '../../../rpc-schema/methods.js';
import type { Logger } from '../../log.js';
import type { CheckpointStore } from '../../store/store.js';
import type { DumpOptions, Restored, RestoreOptions } from '../../tty/types.js';
import { TtycrError } from '../../../rpc-schema/errors.js';
import { isRoot, maySee, type PeerCred } from '../access.js';
import type { RestoreTable } from '../restores.js';

/** One request being answered. */
export interface CallContext {
  peer: PeerCred;
  /** fds to send with the reply, in order; the transport closes them once sent. */
  fds: number[];
  /** Told whether the reply and its fds went into the socket (false: dropped or failed). */
  delivered?: (sent: boolean) => void;
}

/**
 * A checkpoint the caller may see. Someone else's, and for anyone but root one whose image
 * cannot be read (its owner is unknown), is NOT_FOUND, as if it did not exist.
 */
export async function loadVisible(
  store: CheckpointStore,
  peer: PeerCred,
  id: string,
): Promise<Checkpoint> {
  const notFound = () => new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
  const checkpoint = await store.load(id).catch((err: unknown) => {
    if (err instanceof TtycrError && err.reason === 'IMAGE_CORRUPT' && !isRoot(peer)) {
      throw notFound();
    }
    throw err;
  });
  if (!maySee(peer, checkpoint.uid)) throw notFound();
  return checkpoint;
}

/** The tty engine as daemon/tty/index.ts exports it. */
export interface Engine {
  dump(pids: number[], options: DumpOptions): Promise<Checkpoint>;
  restore(checkpoint: Checkpoint, options: RestoreOptions): Restored;
}

/** What the transport knows, for daemon.status. */
export interface ServerInfo {
  socket: string;
  stateDir: string;
  connections(): number;
  limits: {
    maxLineBytes: number;
    maxConnections: number;
    idleSeconds: number;
    restoreTtlSeconds: number;
    maxRestoresPerUid: number;
    maxPtysPerUid: number;
    maxCheckpointsPerUid: number;
  };
}

export interface DaemonParts {
  version: string;
  startedAt: Date;
  store: CheckpointStore;
  restores: RestoreTable;
  engine: Engine;
  server: ServerInfo;
  log: Logger;
}

export type ParamsOf<M extends MethodName> = z.output<(typeof methods)[M]['params']>;

export type Handler<M extends MethodName> = (
  params: ParamsOf<M>,
  call: CallContext,
) => Promise<Result<M>> | Result<M>;

export type Handlers<M extends MethodName = MethodName> = { [K in M]: Handler<K> };
