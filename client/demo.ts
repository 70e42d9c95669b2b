// `npm run demo`: the main job, start to end, on a scratch socket and state directory. A bash in
// tmux gets settings a shell user would notice; it is checkpointed and killed; its terminal is
// restored and `tty; stty -a` runs on it through `ttycr exec`; before and after are compared.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TtycrClient } from './client.js';

const here = fileURLToPath(import.meta.url);
const ext = here.endsWith('.ts') ? 'ts' : 'js';
const cliPath = join(here, '..', `cli.${ext}`);
const daemonPath = join(here, '..', '..', 'daemon', `main.${ext}`);

const SETTINGS = 'stty -echo -icanon min 3 time 7 rows 43 cols 132';
const SHOW = 'tty; stty -a';

const dir = mkdtempSync(join(tmpdir(), 'ttycr-demo-'));
const socket = join(dir, 'ttycrd.sock');
const tmuxSocket = `ttycr-demo-${process.pid}`;
let daemon: ChildProcess | null = null;
let restoreId: string | null = null;

function say(text: string): void {
  process.stdout.write(text + '\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `ready` every 50 ms for up to `ms`; says what it waited for when it gives up. */
async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 10_000) {
  for (let waited = 0; !(await ready()); waited += 50) {
    if (waited >= ms) throw new Error(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

/** Runs `ttycr ARGS` against the scratch daemon and returns its stdout. */
function ttycr(args: string[]): string {
  const shown = args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
  say(`\n$ ttycr ${shown}`);
  return execFileSync(process.execPath, [...process.execArgv, cliPath, ...args], {
    env: { ...process.env, TTYCR_SOCKET: socket },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', tmuxSocket, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
  });
}

async function startDaemon(): Promise<void> {
  const args = ['--socket', socket, '--state-dir', join(dir, 'state'), '--log-level', 'warn'];
  daemon = spawn(process.execPath, [...process.execArgv, daemonPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitFor('ttycrd to listen', async () => {
    if (daemon?.exitCode !== null) throw new Error(`ttycrd exited with ${daemon?.exitCode}`);
    if (!existsSync(socket)) return false;
    const client = await TtycrClient.connect(socket);
    client.close();
    return true;
  });
  say(`ttycrd is listening on ${socket} (pid ${daemon.pid})`);
}

/** bash in tmux with the demo's settings; resolves with its pid and what `tty; stty -a` said. */
async function startShell(): Promise<{ pid: number; before: string }> {
  const out = join(dir, 'before.txt');
  tmux('new-session', '-d', '-x', '132', '-y', '43', 'bash --norc --noediting');
  const pid = Number(tmux('list-panes', '-F', '#{pane_pid}').trim());
  say(`bash ${pid} runs in tmux; it types: ${SETTINGS}; ${SHOW}`);

  // Written to a temporary name and renamed, so a whole file is there or none.
  tmux('send-keys', `${SETTINGS}; { ${SHOW}; } > ${out}.tmp; mv ${out}.tmp ${out}`, 'Enter');
  await waitFor('the shell to run the commands', () => existsSync(out));
  return { pid, before: readFileSync(out, 'utf8') };
}

async function main(): Promise<number> {
  await startDaemon();
  const { pid, before } = await startShell();
  const pts = before.split('\n')[0]!;

  const id = ttycr(['checkpoint', '--kill', String(pid)]).split('\n')[0]!;
  say(`checkpoint ${id}; bash ${pid} is killed`);
  // tmux closes the pane's master once bash is gone; until then the index is taken.
  await waitFor(`${pts} to be free`, () => !existsSync(pts));

  const restored = ttycr(['restore', id]);
  process.stdout.write(restored);
  restoreId = restored.split('\n')[0]!;

  const afterFile = join(dir, 'after.txt');
  const command = ['exec', restoreId, '--task', String(pid), '--', 'sh', '-c'];
  ttycr([...command, `{ ${SHOW}; } > ${afterFile}`]);
  const after = readFileSync(afterFile, 'utf8');

  say(`\nbefore (bash ${pid})`.padEnd(62) + 'after (restored, new process)');
  say(sideBySide(before, after));
  const same = before === after;
  say(same ? '\nidentical' : `\nDIFFERENT:\n${differences(before, after)}`);
  return same ? 0 : 1;
}

/** stty -a's settings one by one: `min = 3` stays together, `;` separators go. */
function settings(text: string): string[] {
  const items: string[] = [];
  for (const line of text.split('\n')) {
    for (const part of line.split(/;\s*/)) {
      const words = part.trim().split(/\s+/).filter(Boolean);
      if (words[1] === '=' || words[0] === 'speed' || words[0] === 'line') {
        items.push(words.join(' '));
      } else items.push(...words);
    }
  }
  return items;
}

/** Both outputs reflowed to 58 columns and set beside each other; a differing row gets `*`. */
function sideBySide(before: string, after: string): string {
  const left = reflow(settings(before));
  const right = reflow(settings(after));
  const rows: string[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    rows.push(`${l === r ? ' ' : '*'} ${l.padEnd(58)} | ${r}`);
  }
  return rows.join('\n');
}

function reflow(items: string[], width = 58): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && line.length + 1 + item.length > width) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${item}` : item;
  }
  if (line) lines.push(line);
  return lines;
}

function differences(before: string, after: string): string {
  const a = settings(before);
  const b = settings(after);
  const gone = a.filter((s) => !b.includes(s)).map((s) => `  before only: ${s}`);
  const added = b.filter((s) => !a.includes(s)).map((s) => `  after only:  ${s}`);
  return [...gone, ...added].join('\n') || '  (the same settings, in another order)';
}

/** Whatever happened: no restore, tmux server, daemon or scratch directory is left behind. */
async function cleanup(): Promise<void> {
  if (restoreId && daemon?.exitCode === null) {
    spawnSync(process.execPath, [...process.execArgv, cliPath, 'cancel', restoreId], {
      env: { ...process.env, TTYCR_SOCKET: socket },
      stdio: 'ignore',
    });
  }
  spawnSync('tmux', ['-L', tmuxSocket, 'kill-server'], { stdio: 'ignore' });
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon!.once('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
