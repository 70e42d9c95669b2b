// Progress on stderr: `checkpointing N processes…` while a checkpoint runs when stderr is a
// terminal, and not a byte of it when stderr is a pipe.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { ttycr } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

const cliTs = fileURLToPath(new URL('../client/cli.ts', import.meta.url));

/** Runs `ttycr ARGS` under script(1), so that its stdout and stderr are a pty; its output. */
function ttycrOnTerminal(
  socket: string,
  args: string[],
): Promise<{ code: number | null; out: string }> {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const line = [process.execPath, ...process.execArgv, cliTs, ...args].map(quote).join(' ');
  const proc = spawn('script', ['-qec', line, '/dev/null'], {
    env: { ...process.env, TTYCR_SOCKET: socket, TS_NODE_TRANSPILE_ONLY: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, out })));
}

t.test('progress [checkpoint on a terminal and in a pipe]', async (t) => {
  const daemon = await startDaemon();
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
  });

  const shown = await ttycrOnTerminal(daemon.socket, ['checkpoint', String(holder.pid)]);
  t.equal(shown.code, 0, 'checkpoint on a terminal exits 0');
  t.match(shown.out, 'checkpointing 1 process\u2026', 'a terminal sees the progress line');
  t.match(shown.out, '\r\x1b[K', 'and sees it erased');

  const piped = await ttycr(daemon.socket, ['checkpoint', String(holder.pid)]);
  t.equal(piped.code, 0, 'checkpoint in a pipe exits 0');
  t.equal(piped.stderr, '', 'a pipe gets nothing on stderr');
});
