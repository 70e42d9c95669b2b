// Running `ttycr` from source as a real process, with the TypeScript loader this test runs with,
// against a test daemon's socket; and the tmux shell the end-to-end scenarios checkpoint.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cliTs = fileURLToPath(new URL('../../client/cli.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Run as another user: setpriv --reuid/--regid/--clear-groups. */
  user?: { uid: number; gid: number };
}

/** Runs `ttycr ARGS` with TTYCR_SOCKET set to `socket`; resolves when it exits. */
export function ttycr(socket: string, args: string[], options: CliOptions = {}): Promise<CliRun> {
  const run = startTtycr(socket, args, options);
  run.proc.stdin!.end();
  return run.done;
}

export interface RunningCli {
  proc: ChildProcess;
  /** What it printed so far. */
  output(): CliRun;
  done: Promise<CliRun>;
}

/** Starts `ttycr ARGS` with a pipe on its stdin; `done` resolves when it exits. */
export function startTtycr(socket: string, args: string[], options: CliOptions = {}): RunningCli {
  // tap's process tracking writes under .tap/ at exit, which another user may not.
  const loader = options.user
    ? process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))
    : process.execArgv;
  const node = [process.execPath, ...loader, cliTs, ...args];
  const argv = options.user
    ? [
        'setpriv',
        `--reuid=${options.user.uid}`,
        `--regid=${options.user.gid}`,
        '--clear-groups',
        // tap's spawn hook puts its process tracking back into NODE_OPTIONS: drop it here.
        'env',
        '-u',
        'NODE_OPTIONS',
        ...node,
      ]
    : node;
  const env: NodeJS.ProcessEnv = { ...process.env, TTYCR_SOCKET: socket, ...options.env };
  // Type checking is the test run's job; each CLI process only needs the code transpiled.
  env.TS_NODE_TRANSPILE_ONLY = '1';
  const proc = spawn(argv[0]!, argv.slice(1), {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve) =>
    proc.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { proc, output: () => ({ code: proc.exitCode, stdout, stderr }), done };
}

/** Runs ttycr and parses its --json output; throws with its stderr when it failed. */
export async function ttycrJson<T>(socket: string, args: string[]): Promise<T> {
  const run = await ttycr(socket, ['--json', ...args]);
  if (run.code !== 0) throw new Error(`ttycr ${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `ready()`; after `ms` it throws naming what it waited for. Not a timed assert. */
export async function waitFor(what: string, ready: () => boolean, ms = 15_000): Promise<void> {
  for (let waited = 0; !ready(); waited += 25) {
    if (waited >= ms) throw new Error(`gave up waiting for ${what}`);
    await sleep(25);
  }
}

/** A bash without readline (so it leaves termios alone) in a tmux server of its own. */
export interface TmuxShell {
  pid: number;
  /** Runs a command line in the shell (tmux send-keys). */
  type(line: string): void;
  /** Runs `line` in the shell with its output to `file` and waits for the whole file. */
  capture(line: string, file: string): Promise<string>;
  /** Kills the tmux server, and with it the pane's pty. */
  kill(): void;
}

let servers = 0;

export function startTmuxShell(cols: number, rows: number): TmuxShell {
  const name = `ttycr-test-${process.pid}-${servers++}`;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', name, '-f', '/dev/null', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  tmux('new-session', '-d', '-x', String(cols), '-y', String(rows), 'bash --norc --noediting');
  const pid = Number(tmux('list-panes', '-F', '#{pane_pid}').trim());
  const shell: TmuxShell = {
    pid,
    type: (line) => void tmux('send-keys', line, 'Enter'),
    async capture(line, file) {
      shell.type(`{ ${line}; } > ${file}.tmp 2>&1; mv ${file}.tmp ${file}`);
      await waitFor(`the shell to write ${file}`, () => existsSync(file));
      return readFileSync(file, 'utf8');
    },
    kill() {
      try {
        tmux('kill-server');
      } catch {
        // The server already left with its last pane.
      }
    },
  };
  return shell;
}
