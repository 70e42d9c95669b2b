// The daemon's parts put together: store, restores in flight and dispatch, serving each
// connection the transport accepts, and the clean stop.

import { toRpcError, TtycrError } from '../rpc-schema/errors.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Connection, IncomingLine, LimitReason } from './server/connection.js';
import { Dispatcher, type Reply } from './server/dispatch.js';
import { allHandlers, discoverMethod, type Engine } from './server/methods/index.js';
import { RestoreTable } from './server/restores.js';
import { closeQuietly } from './sys/fd.js';
import { CheckpointStore, type StoreOptions } from './store/store.js';

export interface DaemonOptions {
  config: Config;
  version: string;
  engine: Engine;
  log: Logger;
  /** How many connections are open; the transport's listener knows. */
  connections: () => number;
  store?: Omit<StoreOptions, 'log'>;
}

export class Daemon {
  readonly store: CheckpointStore;
  readonly restores: RestoreTable;
  readonly dispatcher: Dispatcher;
  private readonly log: Logger;
  private readonly maxLineBytes: number;

  private constructor(store: CheckpointStore, options: DaemonOptions) {
    const { config, log } = options;
    this.log = log;
    this.maxLineBytes = config.maxLineBytes;
    this.store = store;
    this.restores = new RestoreTable({
      ttlSeconds: config.restoreTtl,
      maxPerUid: config.maxRestoresPerUid,
      maxPtysPerUid: config.maxPtysPerUid,
      log,
    });

    const parts = {
      version: options.version,
      startedAt: new Date(),
      store,
      restores: this.restores,
      engine: options.engine,
      log,
      server: {
        socket: config.socket,
        stateDir: config.stateDir,
        connections: options.connections,
        limits: {
          maxLineBytes: config.maxLineBytes,
          maxConnections: config.maxConnections,
          idleSeconds: config.idleTimeout,
          restoreTtlSeconds: config.restoreTtl,
          maxRestoresPerUid: config.maxRestoresPerUid,
          maxPtysPerUid: config.maxPtysPerUid,
          maxCheckpointsPerUid: config.maxCheckpointsPerUid,
        },
      },
    };
    this.dispatcher = new Dispatcher({
      handlers: allHandlers(parts),
      discover: discoverMethod(options.version),
      log,
    });
  }

  static async open(options: DaemonOptions): Promise<Daemon> {
    const store = await CheckpointStore.open(options.config.stateDir, {
      ...options.store,
      log: options.log,
    });
    return new Daemon(store, options);
  }

  /** Answers one line of a connection; the reply's fds are closed once sent. */
  async serveLine(line: IncomingLine, conn: Connection): Promise<void> {
    const fds = line.takeFds();
    const reply = line.truncated
      ? truncatedReply(line.text, fds)
      : await this.dispatcher.handle(line.text, fds, conn.peer);

    // A notification has no reply, and then the dispatcher hands back no fds either.
    if (reply.reply === null) return;
    conn.send(reply.reply, reply.fds, {
      closeFds: true,
      ...(reply.delivered ? { onSent: reply.delivered } : {}),
    });
  }

  /**
   * The last line a connection gets when it breaks a limit. checkpoint.import sends a whole
   * image in one request line, so --max-line-bytes bounds the images that can be imported.
   */
  goodbye(reason: LimitReason): string {
    const messages: Record<LimitReason, string> = {
      'line-too-long':
        `request line over ${this.maxLineBytes} bytes (ttycrd --max-line-bytes; ` +
        'checkpoint.import sends the whole image in one line)',
      idle: 'connection idle too long',
      'too-many-connections': 'too many connections',
    };
    const error = toRpcError(new TtycrError('LIMIT_EXCEEDED', messages[reason], { limit: reason }));
    return JSON.stringify({ jsonrpc: '2.0', id: null, error });
  }

  /** Stops answering (new requests get SHUTTING_DOWN), waits for those in flight, closes fds. */
  async stop(): Promise<void> {
    await this.dispatcher.drain();
    const closed = this.restores.closeAll();
    this.log.info('pending restores closed', { closed });
  }
}

/** The reply to a line whose fds did not all fit: FDS_TRUNCATED, with the request's id. */
function truncatedReply(text: string, fds: number[]): Reply {
  for (const fd of fds) closeQuietly(fd);
  let id: unknown = null;
  try {
    const parsed = (JSON.parse(text) as { id?: unknown }).id;
    if (typeof parsed === 'string' || typeof parsed === 'number') id = parsed;
  } catch {
    // Not JSON either: the id stays null.
  }
  const error = toRpcError(
    new TtycrError('FDS_TRUNCATED', 'more fds were sent than the daemon takes'),
  );
  return { reply: JSON.stringify({ jsonrpc: '2.0', id, error }), fds: [] };
}
