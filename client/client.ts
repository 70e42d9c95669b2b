// TtycrClient: typed JSON-RPC calls to ttycrd for the CLI and for container runtimes, with the
// fds of a claim handed over as fd numbers of this process.
//
//   const client = await TtycrClient.connect();            // TTYCR_SOCKET or the default path
//   const { id } = await client.checkpointCreate({ pids: [pid], kill: true });
//   const restore = await client.restoreStart({ id });
//   const { result, fds } = await client.claim(restore.id, pid);
//   client.close();

import { defaults } from '../daemon/config.js';
import { closeQuietly } from '../daemon/sys/fd.js';
import { type ErrorReason, errorReasons, TtycrError } from '../rpc-schema/errors.js';
import type { MethodName, Params, Result } from '../rpc-schema/methods.js';
import { type Connection, connect, type IncomingLine } from './connection.js';

/** The socket the daemon listens on by default: TTYCR_SOCKET, else ttycrd's own default. */
export function defaultSocketPath(
  env: NodeJS.ProcessEnv = process.env,
  uid = process.getuid?.() ?? 0,
): string {
  return env.TTYCR_SOCKET || defaults(env, uid).socket;
}

/** A JSON-RPC protocol error (-32700..-32600, -32603): a bad request, not an application error. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** What a claim gives: the reply's result and the fds, in the order of `result.fds`. */
export interface Claimed {
  result: Result<'restore.claim'>;
  /** fd numbers in this process, close-on-exec; the caller owns them. */
  fds: number[];
}

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

interface Reply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  fds: number[];
  truncated: boolean;
}

export class TtycrClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();

  private constructor(
    private readonly conn: Connection,
    readonly socketPath: string,
  ) {
    conn.onLine = (line) => this.received(line);
    void conn.finished.then(() => {
      const gone = new Error(`connection to ${socketPath} closed before the reply`);
      for (const waiter of this.waiting.values()) waiter.reject(gone);
      this.waiting.clear();
    });
  }

  /** Connects; a SysError ENOENT or ECONNREFUSED means no daemon listens there. */
  static async connect(socketPath = defaultSocketPath()): Promise<TtycrClient> {
    return new TtycrClient(await connect(socketPath), socketPath);
  }

  /** Calls any method by name; error replies throw TtycrError (or RpcError). */
  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    const reply = await this.request(method, params);
    for (const fd of reply.fds) closeQuietly(fd);
    return reply.result as Result<M>;
  }

  status(): Promise<Result<'daemon.status'>> {
    return this.call('daemon.status', {});
  }

  checkpointCreate(params: Params<'checkpoint.create'>): Promise<Result<'checkpoint.create'>> {
    return this.call('checkpoint.create', params);
  }

  checkpointList(): Promise<Result<'checkpoint.list'>> {
    return this.call('checkpoint.list', {});
  }

  checkpointGet(id: string): Promise<Result<'checkpoint.get'>> {
    return this.call('checkpoint.get', { id });
  }

  checkpointDelete(id: string): Promise<Result<'checkpoint.delete'>> {
    return this.call('checkpoint.delete', { id });
  }

  checkpointImport(params: Params<'checkpoint.import'>): Promise<Result<'checkpoint.import'>> {
    return this.call('checkpoint.import', params);
  }

  restoreStart(params: Params<'restore.start'>): Promise<Result<'restore.start'>> {
    return this.call('restore.start', params);
  }

  restoreList(): Promise<Result<'restore.list'>> {
    return this.call('restore.list', {});
  }

  restoreCancel(id: string): Promise<Result<'restore.cancel'>> {
    return this.call('restore.cancel', { id });
  }

  /** The OpenRPC document of the API. */
  discover(): Promise<unknown> {
    return this.request('rpc.discover', undefined).then((reply) => reply.result);
  }

  /**
   * restore.claim: task `task` of restore `restoreId` takes its fds. They arrive with the reply;
   * a reply whose fds do not match its list is refused (FDS_TRUNCATED) and its fds closed.
   */
  async claim(restoreId: string, task: number): Promise<Claimed> {
    const reply = await this.request('restore.claim', { id: restoreId, task });
    const result = reply.result as Result<'restore.claim'>;

    if (reply.truncated || reply.fds.length !== result.fds.length) {
      for (const fd of reply.fds) closeQuietly(fd);
      throw new TtycrError(
        'FDS_TRUNCATED',
        `claim ${restoreId} task ${task}: ${reply.fds.length} fds came, ` +
          `${result.fds.length} were listed`,
        { id: restoreId },
      );
    }
    return { result, fds: reply.fds };
  }

  /** Closes the connection; a call still waiting rejects. */
  close(): void {
    this.conn.destroy();
  }

  private request(method: string, params: unknown): Promise<Reply> {
    const id = this.nextId++;
    const message = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };

    const reply = new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
    });
    if (!this.conn.send(JSON.stringify(message))) {
      this.waiting.delete(id);
      return Promise.reject(new Error(`connection to ${this.socketPath} is closed`));
    }
    return reply.then(throwIfError);
  }

  private received(line: IncomingLine): void {
    const fds = line.takeFds();
    let message: { id?: unknown; result?: unknown; error?: Reply['error'] };
    try {
      message = JSON.parse(line.text) as typeof message;
    } catch {
      for (const fd of fds) closeQuietly(fd);
      return;
    }

    // A reply to nothing we asked (a limit's goodbye has id null): fail every waiting call.
    const waiter = typeof message.id === 'number' ? this.waiting.get(message.id) : undefined;
    if (!waiter) {
      for (const fd of fds) closeQuietly(fd);
      if (message.error) this.failAll(message.error);
      return;
    }
    this.waiting.delete(message.id as number);
    waiter.resolve({
      result: message.result,
      error: message.error,
      fds,
      truncated: line.truncated,
    });
  }

  private failAll(error: NonNullable<Reply['error']>): void {
    for (const waiter of this.waiting.values()) waiter.reject(errorOf(error));
    this.waiting.clear();
  }
}

function throwIfError(reply: Reply): Reply {
  if (!reply.error) return reply;
  for (const fd of reply.fds) closeQuietly(fd);
  throw errorOf(reply.error);
}

/** TtycrError for an application error (data.reason a known word), RpcError otherwise. */
function errorOf(error: NonNullable<Reply['error']>): Error {
  const data = (error.data ?? {}) as Record<string, unknown>;
  const reason = data.reason;
  if (typeof reason === 'string' && Object.hasOwn(errorReasons, reason)) {
    const rest = Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'reason'));
    return new TtycrError(reason as ErrorReason, error.message, rest);
  }
  return new RpcError(error.code, error.message, error.data);
}
