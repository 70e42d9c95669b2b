// RPC benchmarks against a real ttycrd: daemon.status round trips beside a plain Node `net` echo
// server, the cost of one claim, and the daemon's memory idle and with 1000 pty pairs pending.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { connect, type Connection } from '../client/connection.js';
import { closeQuietly } from '../daemon/sys/fd.js';

// Run from dist/ as .js, or from the sources under a TypeScript loader as .ts.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const mainPath = fileURLToPath(new URL(`../daemon/main${ext}`, import.meta.url));
const holderPath = fileURLToPath(new URL(`./pty-holder${ext}`, import.meta.url));
const echoPath = fileURLToPath(new URL(`./transport-echo${ext}`, import.meta.url));

const ROUNDTRIPS = 10_000;
const CLAIMS = 200;
const PENDING_PAIRS = 1000;
const SETTLE_MS = 10_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50_us: round(percentile(sorted, 0.5)), p99_us: round(percentile(sorted, 0.99)) };
}

const round = (n: number) => Math.round(n * 10) / 10;
const now = () => process.hrtime.bigint();
const micros = (since: bigint) => Number(process.hrtime.bigint() - since) / 1000;

/** A request/reply client over the client Connection: one call in flight at a time. */
class Caller {
  private waiting: ((reply: { text: string; fds: number[] }) => void) | null = null;
  private id = 0;

  constructor(private readonly conn: Connection) {
    conn.onLine = (line) => this.waiting?.({ text: line.text, fds: line.takeFds() });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- results are read field by field
  async call(method: string, params: unknown = {}): Promise<{ result: any; fds: number[] }> {
    const line = JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params });
    const reply = new Promise<{ text: string; fds: number[] }>(
      (resolve) => (this.waiting = resolve),
    );
    this.conn.send(line);
    const { text, fds } = await reply;
    const parsed = JSON.parse(text) as { result?: unknown; error?: { message: string } };
    if (parsed.error) throw new Error(`${method}: ${parsed.error.message}`);
    return { result: parsed.result, fds };
  }
}

async function startDaemon(dir: string): Promise<ChildProcess> {
  const socket = join(dir, 'ttycrd.sock');
  const args = ['--socket', socket, '--state-dir', join(dir, 'state'), '--log-level', 'warn'];
  // The flag the daemon's shebang gives it (daemon/main.ts), since the bench runs main.js directly.
  const flags = [...process.execArgv, '--max-semi-space-size=1'];
  const proc = spawn(process.execPath, [...flags, mainPath, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TTYCRD_LOG_FORMAT: 'json' },
  });
  // At level warn nothing is printed on a good start: wait for the socket to answer.
  for (;;) {
    try {
      (await connect(socket, {})).destroy();
      return proc;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return round(Number(line.split(/\s+/)[1]) / 1024);
}

async function startHolder(pairs: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [...process.execArgv, holderPath, String(pairs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(createInterface({ input: proc.stdout! }), 'line');
  return proc;
}

/**
 * The same 10,000 sequential round trips through a `net` server that echoes each line, run as a
 * process of its own like the daemon: a wake-up across processes costs far more than one within.
 */
async function echoRoundtrips(dir: string): Promise<number[]> {
  const path = join(dir, 'echo.sock');
  const server = spawn(process.execPath, [echoPath, 'net', path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await once(createInterface({ input: server.stdout! }), 'line');

  const client = netConnect(path);
  await once(client, 'connect');
  const request = { jsonrpc: '2.0', id: 1, method: 'daemon.status', params: {} };
  const line = `${JSON.stringify(request)}\n`;
  const times: number[] = [];
  let pending: (() => void) | null = null;
  let buffered = '';
  client.on('data', (chunk) => {
    buffered += chunk.toString();
    if (buffered.endsWith('\n')) {
      buffered = '';
      pending?.();
    }
  });
  for (let i = 0; i < ROUNDTRIPS; i++) {
    const start = now();
    await new Promise<void>((resolve) => {
      pending = resolve;
      client.write(line);
    });
    times.push(micros(start));
  }
  client.destroy();
  server.stdin!.end();
  await once(server, 'exit');
  return times;
}

export async function benchRpc(): Promise<object[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-bench-'));
  const daemon = await startDaemon(dir);
  const holders: ChildProcess[] = [];
  const lines: object[] = [];
  try {
    const caller = new Caller(await connect(join(dir, 'ttycrd.sock'), {}));
    await caller.call('daemon.status');
    lines.push({ bench: 'daemon.rss_mb', pending_pairs: 0, rss_mb: rssMb(daemon.pid!) });

    const times: number[] = [];
    for (let i = 0; i < ROUNDTRIPS; i++) {
      const start = now();
      await caller.call('daemon.status');
      times.push(micros(start));
    }
    const echo = summary(await echoRoundtrips(dir));
    const rpc = summary(times);
    lines.push({
      bench: 'rpc.roundtrip',
      calls: ROUNDTRIPS,
      ...rpc,
      echo_p50_us: echo.p50_us,
      echo_p99_us: echo.p99_us,
      p50_vs_echo: round(rpc.p50_us / echo.p50_us),
    });

    const one = await startHolder(1);
    holders.push(one);
    const small = (await caller.call('checkpoint.create', { pids: [one.pid] })).result.id;
    const claims: number[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const restore = await caller.call('restore.start', { id: small, indexPolicy: 'any' });
      const start = now();
      const claim = await caller.call('restore.claim', { id: restore.result.id, task: one.pid });
      claims.push(micros(start));
      for (const fd of claim.fds) closeQuietly(fd);
    }
    lines.push({ bench: 'rpc.claim', pairs: 1, claims: CLAIMS, ...summary(claims) });

    const many = await startHolder(PENDING_PAIRS);
    holders.push(many);
    const big = (await caller.call('checkpoint.create', { pids: [many.pid] })).result.id;
    await caller.call('restore.start', { id: big, indexPolicy: 'any' });
    const status = (await caller.call('daemon.status')).result;
    lines.push({
      bench: 'daemon.rss_mb',
      pending_pairs: PENDING_PAIRS,
      pending_fds: status.pendingFds,
      rss_mb: rssMb(daemon.pid!),
    });

    // Pending restores sit idle until claimed: V8 gives back the garbage of the checkpoint and
    // the restore once the daemon has been idle a while. What stays is the real cost.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    lines.push({
      bench: 'daemon.rss_mb',
      pending_pairs: PENDING_PAIRS,
      after_idle_ms: SETTLE_MS,
      rss_mb: rssMb(daemon.pid!),
    });
  } finally {
    for (const holder of holders) holder.kill('SIGKILL');
    daemon.kill('SIGTERM');
    await once(daemon, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
