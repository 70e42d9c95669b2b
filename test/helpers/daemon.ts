// A real ttycrd for tests: its own socket and state directory under a fresh temporary directory,
// started with the same TypeScript loader the test runs with, and a JSON-RPC client for it.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { connect, type Connection } from '../../client/connection.js';
import { closeQuietly } from '../../daemon/sys/fd.js';

const mainTs = fileURLToPath(new URL('../../daemon/main.ts', import.meta.url));

export interface TestDaemon {
  pid: number;
  dir: string;
  socket: string;
  stateDir: string;
  proc: ChildProcess;
  /** Log lines so far (JSON objects, --log-format json). */
  logs: Record<string, unknown>[];
  /** Open fds of the daemon, from /proc/PID/fd. */
  fdCount(): number;
  /**
   * The daemon's fd count once it has settled at `expected` (closes of connections reach it
   * asynchronously), or what it is after two seconds of waiting for that.
   */
  settledFdCount(expected: number): Promise<number>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Stops it if running and removes its directory. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Reuse a directory (a restart after a crash); default a fresh one. */
  dir?: string;
}

/** Starts ttycrd and resolves once it logged `serving`. */
export async function startDaemon(options: StartOptions = {}): Promise<TestDaemon> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ttycrd-test-'));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'ttycrd.sock');
  const stateDir = join(dir, 'state');
  const args = ['--socket', socket, '--state-dir', stateDir, '--log-format', 'json'];

  const proc = spawn(
    process.execPath,
    [...process.execArgv, mainTs, ...args, ...(options.args ?? [])],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  const logs: Record<string, unknown>[] = [];
  let serving: () => void = () => {};
  const ready = new Promise<void>((resolve) => (serving = resolve));
  for (const stream of [proc.stdout!, proc.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.message === 'serving') serving();
      } catch {
        logs.push({ message: line });
      }
    });
  }

  await Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`ttycrd exited with ${code}: ${JSON.stringify(logs)}`);
    }),
  ]);

  const daemon: TestDaemon = {
    pid: proc.pid!,
    dir,
    socket,
    stateDir,
    proc,
    logs,
    fdCount: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    async settledFdCount(expected) {
      for (let waited = 0; waited < 2000; waited += 20) {
        if (daemon.fdCount() === expected) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return daemon.fdCount();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async cleanup() {
      await daemon.kill();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

/** A JSON-RPC reply as the client sees it, with the fds that came with it. */
export interface RpcReply {
  id?: unknown;
  // Tests read replies field by field and assert on each; typing every result is not worth it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  result?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  error?: { code: number; message: string; data?: any };
  fds: number[];
}

/** A client on one connection: requests by id, raw lines for the bad-input tests. */
export class RpcClient {
  private nextId = 1;
  private readonly waiting = new Map<unknown, (reply: RpcReply) => void>();
  /** Waiters for replies with id null (parse errors, invalid requests), in order. */
  private readonly nullWaiters: ((reply: RpcReply) => void)[] = [];
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly conn: Connection) {
    conn.onLine = (line) => {
      const reply = { ...(JSON.parse(line.text) as object), fds: line.takeFds() } as RpcReply;
      const id = reply.id ?? null;
      const waiter = id === null ? this.nullWaiters.shift() : this.waiting.get(id);
      this.waiting.delete(id);
      if (waiter) waiter(reply);
      else for (const fd of reply.fds) closeQuietly(fd);
    };
    void conn.finished.then(() => {
      for (const waiter of this.closeWaiters) waiter();
    });
  }

  static async connect(socket: string): Promise<RpcClient> {
    return new RpcClient(await connect(socket, {}));
  }

  /** Calls `method`; resolves with the reply (result or error) and its fds. */
  call(method: string, params?: unknown): Promise<RpcReply> {
    const id = this.nextId++;
    const request = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
    return this.send(JSON.stringify(request), id);
  }

  /** Sends a line as is; `id` is the id its reply will carry (null for an unparsable line). */
  send(line: string, id: unknown = null): Promise<RpcReply> {
    const reply = new Promise<RpcReply>((resolve, reject) => {
      if (id === null) this.nullWaiters.push(resolve);
      else this.waiting.set(id, resolve);
      this.closeWaiters.push(() => reject(new Error('connection closed before the reply')));
    });
    this.conn.send(line);
    return reply;
  }

  /** The next reply with id null that arrives without a request of ours (a limit's goodbye). */
  unsolicited(): Promise<RpcReply> {
    return new Promise<RpcReply>((resolve, reject) => {
      this.nullWaiters.push(resolve);
      this.closeWaiters.push(() => reject(new Error('connection closed before the reply')));
    });
  }

  /** Resolves once the daemon closed the connection. */
  closed(): Promise<unknown> {
    return this.conn.finished;
  }

  close(): void {
    this.conn.destroy();
  }
}
