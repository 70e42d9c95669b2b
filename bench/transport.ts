// Transport benchmark: a line echo round trip (p50, p99 in µs over 10,000 round trips on one
// connection) through our Listener and Connection, beside Node's `net` on a unix socket in the
// same run. Each is measured with the server in this process and in a child process (the
// daemon's case).

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { connect } from '../client/connection.js';
import { Listener } from '../daemon/server/listener.js';

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const echoPath = fileURLToPath(new URL(`./transport-echo${ext}`, import.meta.url));

const ROUNDTRIPS = 10_000;
const WARMUP = 500;
const LINE = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'daemon.status', params: {} });

type Roundtrip = () => Promise<void>;

function summary(times: number[]): { p50_us: number; p99_us: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { p50_us: round(at(0.5)), p99_us: round(at(0.99)) };
}

async function measure(roundtrip: Roundtrip): Promise<{ p50_us: number; p99_us: number }> {
  for (let i = 0; i < WARMUP; i++) await roundtrip();
  const times: number[] = [];
  for (let i = 0; i < ROUNDTRIPS; i++) {
    const start = process.hrtime.bigint();
    await roundtrip();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return summary(times);
}

/** Round trips over our client Connection; returns them and the function that closes it. */
async function oursClient(path: string): Promise<[Roundtrip, () => void]> {
  const conn = await connect(path);
  let answered: (() => void) | null = null;
  conn.onLine = () => answered?.();
  const roundtrip = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
      conn.send(LINE);
    });
  return [roundtrip, () => conn.destroy()];
}

/** Round trips over a `net` socket, splitting lines as a line protocol must. */
async function netClient(path: string): Promise<[Roundtrip, () => void]> {
  const socket: Socket = netConnect(path);
  await once(socket, 'connect');
  let answered: (() => void) | null = null;
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString();
    const nl = buffered.indexOf('\n');
    if (nl < 0) return;
    buffered = buffered.slice(nl + 1);
    answered?.();
  });
  const roundtrip = () =>
    new Promise<void>((resolve) => {
      answered = resolve;
      socket.write(LINE + '\n');
    });
  return [roundtrip, () => socket.destroy()];
}

async function inProcess(kind: 'ours' | 'net', path: string): Promise<object> {
  if (kind === 'ours') {
    const listener = Listener.listen(path, {
      onConnection: (conn) => {
        conn.onLine = (line) => void conn.send(line.text);
      },
    });
    const [roundtrip, close] = await oursClient(path);
    const result = await measure(roundtrip);
    close();
    await listener.close();
    return result;
  }

  const server = createServer((socket) => socket.pipe(socket));
  server.listen(path);
  await once(server, 'listening');
  const [roundtrip, close] = await netClient(path);
  const result = await measure(roundtrip);
  close();
  server.close();
  return result;
}

async function crossProcess(kind: 'ours' | 'net', path: string): Promise<object> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, echoPath, kind, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await once(createInterface({ input: child.stdout! }), 'line');
  const [roundtrip, close] = kind === 'ours' ? await oursClient(path) : await netClient(path);
  const result = await measure(roundtrip);
  close();
  child.stdin!.end();
  await once(child, 'exit');
  return result;
}

export async function benchTransport(): Promise<object[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-bench-transport-'));
  const lines: object[] = [];
  const base = { bench: 'transport.echo', roundtrips: ROUNDTRIPS, bytes: LINE.length + 1 };
  try {
    for (const impl of ['ours', 'net'] as const) {
      const result = await inProcess(impl, join(dir, `same-${impl}`));
      lines.push({ ...base, server: 'same-process', impl, ...result });
    }
    for (const impl of ['ours', 'net'] as const) {
      const result = await crossProcess(impl, join(dir, `child-${impl}`));
      lines.push({ ...base, server: 'child-process', impl, ...result });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
