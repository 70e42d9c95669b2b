// What every method handler gets: the call (peer, outgoing fds) and the daemon's parts.

import type { z } from 'zod';

import type { Checkpoint } from '../../../rpc-schema/image.js';
import type { MethodName, Result, methods } from '../../../rpc-schema/methods.js';
import type { Logger } from '../../log.js';
import type { CheckpointStore } from '../../store/store.js';
import type { DumpOptions, Restored, RestoreOptions } from '../../tty/types.js';
import type { PeerCred } from '../access.js';
import type { RestoreTable } from '../restores.js';

/** One request being answered. */
export interface CallContext {
  peer: PeerCred;
  /** fds to send with the reply, in order; the transport closes them once sent. */
  fds: number[];
  /** Told whether the reply and its fds went into the socket (false: dropped or failed). */
  delivered?: (sent: boolean) => void;
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
