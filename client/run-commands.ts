// The CLI's commands that run on after the call: `exec` (a command on the claimed fds) and
// `attach` (a claimed master joined to the current terminal).

import { EPOLLIN, reactor } from '../daemon/server/reactor.js';
import { isErrno } from '../daemon/sys/errors.js';
import { closeQuietly, getfl, O_NONBLOCK, read, setfl, writeAll } from '../daemon/sys/fd.js';
import { setWinsize } from '../daemon/sys/termios.js';
import type { TtycrClient } from './client.js';
import type { Output } from './commands.js';
import { UsageError } from './errors.js';
import { execClaimed } from './exec.js';

export interface ExecArgs {
  restore: string;
  task: number;
  ctty: boolean;
  command: string[];
}

/**
 * Claims, runs the command in place, and resolves once it ended: exit code its status (128+N
 * for signal N), and for --json a result that says so. The text is empty: the command's own
 * output is what a person sees.
 */
export async function execCommand(client: TtycrClient, args: ExecArgs): Promise<Output> {
  const [cmd, ...rest] = args.command;
  if (!cmd) throw new UsageError('exec needs a command after --');

  const { result, fds } = await client.claim(args.restore, args.task);
  client.close();
  const child = execClaimed(result, fds, cmd, rest, { ctty: args.ctty });

  // The command runs in a session of its own, so the terminal's signals do not reach it.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);

  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve([code, signal]));
      },
    );
    const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
    const result = { restore: args.restore, task: args.task, pid: child.pid, exitCode, signal };
    return { result, text: '', exitCode };
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}

export interface AttachArgs {
  restore: string;
  task: number;
  /** The master's original fd number; default the task's first master. */
  fd?: number;
}

/** Ctrl-]: the detach key, as telnet and `docker attach` users know it. */
const DETACH = 0x1d;

/**
 * Claims a task's fds, keeps one master, and copies between it and this terminal in raw mode
 * until the detach key, the end of stdin, or the pty's hangup. Resolves with the exit code.
 */
export async function attachCommand(client: TtycrClient, args: AttachArgs): Promise<number> {
  const { result, fds } = await client.claim(args.restore, args.task);
  client.close();

  const index = result.fds.findIndex(
    (entry) => entry.end === 'master' && (args.fd === undefined || entry.fd === args.fd),
  );
  fds.forEach((fd, i) => i !== index && closeQuietly(fd));
  if (index < 0) {
    const which = args.fd === undefined ? 'no pty master' : `no pty master at fd ${args.fd}`;
    throw new UsageError(`task ${args.task} of ${args.restore} has ${which}`);
  }
  return join(fds[index]!);
}

function join(master: number): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  // The master is this process's alone now; the reactor reads it without blocking.
  setfl(master, getfl(master) | O_NONBLOCK);

  const resize = (): void => {
    if (!process.stdout.isTTY) return;
    const { columns, rows } = process.stdout;
    setWinsize(master, { rows, cols: columns, xpixel: 0, ypixel: 0 });
  };
  resize();
  if (raw) stdin.setRawMode(true);
  if (raw) process.stderr.write('ttycr: attached; Ctrl-] detaches\r\n');

  return new Promise<number>((resolve) => {
    const buf = Buffer.alloc(64 * 1024);
    let done = false;
    const finish = (why: string): void => {
      if (done) return;
      done = true;
      watch.remove();
      closeQuietly(master);
      process.off('SIGWINCH', resize);
      stdin.off('data', input);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write(`${raw ? '\r\n' : ''}ttycr: ${why}\n`);
      resolve(0);
    };

    // A master reads EIO once no pts is open any more: the program on it is gone.
    const output = (): void => {
      try {
        for (let n = readSome(master, buf); n > 0; n = readSome(master, buf)) {
          process.stdout.write(Buffer.from(buf.subarray(0, n)));
        }
      } catch {
        finish('the terminal hung up');
      }
    };
    const input = (chunk: Buffer): void => {
      const cut = chunk.indexOf(DETACH);
      try {
        writeToPty(master, cut < 0 ? chunk : chunk.subarray(0, cut));
      } catch {
        finish('the terminal hung up');
        return;
      }
      if (cut >= 0) finish('detached');
    };

    const watch = reactor().add(master, EPOLLIN, output);
    process.on('SIGWINCH', resize);
    stdin.on('data', input);
    stdin.once('end', () => finish('end of input'));
  });
}

/** One non-blocking read: bytes read, 0 when nothing is there now; throws at EIO (hangup). */
function readSome(fd: number, buf: Buffer): number {
  try {
    const n = read(fd, buf);
    if (n === 0) throw new Error('end of file');
    return n;
  } catch (err) {
    if (isErrno(err, 'EAGAIN')) return 0;
    throw err;
  }
}

/**
 * Writes all of `data`. The master is non-blocking for the reactor's reads; a write made
 * blocking for its duration waits out a full input queue without losing count of bytes.
 */
function writeToPty(fd: number, data: Buffer): void {
  if (data.length === 0) return;
  const flags = getfl(fd);
  setfl(fd, flags & ~O_NONBLOCK);
  try {
    writeAll(fd, data);
  } finally {
    setfl(fd, flags);
  }
}
