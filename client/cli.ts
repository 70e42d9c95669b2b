#!/usr/bin/env node
// ttycr: the command-line client of ttycrd. It parses arguments, calls the daemon through
// TtycrClient, prints a table (or with --json the call's result) and sets the exit code.

import { Command, CommanderError, Option } from 'commander';

import { defaultSocketPath, TtycrClient } from './client.js';
import * as commands from './commands.js';
import { sendClaimedMaster } from './console-socket.js';
import { TtycrError } from '../rpc-schema/errors.js';
import { EXIT_USAGE, failureOf } from './errors.js';
import { attachCommand, execCommand } from './run-commands.js';
import { packageVersion } from './version.js';

interface Globals {
  socket?: string;
  json?: boolean;
}

/** Connects, runs `body`, closes; prints its output; returns the exit code. */
async function call(
  cmd: Command,
  body: (client: TtycrClient) => Promise<commands.Output | number>,
): Promise<number> {
  const globals = cmd.optsWithGlobals<Globals>();
  const socket = globals.socket ?? defaultSocketPath();
  let client: TtycrClient | null = null;
  try {
    client = await TtycrClient.connect(socket);
    const out = await body(client);
    if (typeof out === 'number') return out;
    const text = globals.json ? JSON.stringify(out.result, null, 2) : out.text;
    if (text !== '') process.stdout.write(text + '\n');
    return out.exitCode ?? 0;
  } catch (err) {
    const failure = failureOf(err, socket);
    process.stderr.write(failure.line + '\n');
    // --json promises one document on stdout whatever happens: a failure's is its error.
    if (globals.json) printJson({ error: errorDocument(err, failure.line) });
    return failure.code;
  } finally {
    client?.close();
  }
}

function printJson(document: unknown): void {
  process.stdout.write(JSON.stringify(document, null, 2) + '\n');
}

/**
 * The error document of --json: the reason word and the message, and the daemon's data for an
 * application error. Other failures take the word their stderr line starts with.
 */
function errorDocument(err: unknown, line: string): Record<string, unknown> {
  if (err instanceof TtycrError) {
    return { reason: err.reason, message: err.message, ...(err.data ?? {}) };
  }
  const [, reason = 'FAILED', message = line] = /^ttycr: ([A-Z_]+): (.*)$/s.exec(line) ?? [];
  return { reason, message };
}

/** Registers an action whose exit code ends the process. */
function act(
  // Each action names its own argument types; commander only promises strings and objects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: (cmd: Command, ...args: any[]) => Promise<number>,
): (...args: unknown[]) => Promise<void> {
  // commander passes the arguments, then the options, then the command itself.
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    process.exit(await body(cmd, ...args.slice(0, -1)));
  };
}

function program(): Command {
  const root = new Command('ttycr')
    .description('Checkpoint and restore Linux terminals: the client of ttycrd')
    .version(packageVersion())
    .option('--socket <path>', "ttycrd's socket (default: $TTYCR_SOCKET, else ttycrd's default)")
    .option('--json', 'print the result as one JSON document')
    // A usage error is one line like every other error; subcommands inherit this.
    .configureOutput({
      outputError: (text, write) =>
        write(`ttycr: USAGE: ${text.trim().replace(/^error: /, '')} (see ttycr --help)\n`),
    })
    .exitOverride();

  root
    .command('status')
    .description("the daemon's version, uptime, counts and limits")
    .action(act((cmd) => call(cmd, (c) => commands.status(c))));

  root
    .command('checkpoint')
    .description('checkpoint every tty the processes hold; prints the checkpoint id')
    .argument('<pid...>', 'processes to checkpoint')
    .option('--tree', 'include all their descendants')
    .option('--name <name>', 'a name to find the checkpoint by')
    .option('--freeze', 'stop the processes (ptrace, no parent sees it) while dumping')
    .option('--freezer <cgroup>', 'freeze this cgroup instead of stopping each process')
    .option('--data', 'save queued input and output (implies --freeze)')
    .option('--kill', 'kill the processes after a complete checkpoint')
    .action(
      act((cmd, pids: string[], opts: Omit<commands.CheckpointArgs, 'pids'>) =>
        call(cmd, (c) =>
          commands.checkpoint(c, { ...opts, pids, freeze: opts.freeze || opts.data }),
        ),
      ),
    );

  root
    .command('list')
    .description('the checkpoints you may see')
    .action(act((cmd) => call(cmd, (c) => commands.list(c))));

  root
    .command('show')
    .description('one checkpoint: its ttys with kind, index, size and modes; files; tasks')
    .argument('<id>')
    .action(act((cmd, id: string) => call(cmd, (c) => commands.show(c, { id }))));

  root
    .command('rm')
    .description('delete a checkpoint')
    .argument('<id>')
    .action(act((cmd, id: string) => call(cmd, (c) => commands.remove(c, { id }))));

  root
    .command('restore')
    .description(
      "recreate a checkpoint's ttys; prints the restore id, the ttys and what each task may claim",
    )
    .argument('<id>', 'checkpoint id')
    .option('--ptmx <path>', 'the ptmx of the devpts instance to restore into (default /dev/ptmx)')
    .addOption(
      new Option('--index-policy <policy>', 'exact: same /dev/pts/N or fail; any: another if taken')
        .choices(['exact', 'any'])
        .default('exact'),
    )
    .option('--ttl <seconds>', 'close the fds if they are not claimed within this time')
    .action(
      act((cmd, id: string, opts: Omit<commands.RestoreArgs, 'id'>) =>
        call(cmd, (c) => commands.restore(c, { ...opts, id })),
      ),
    );

  root
    .command('restores')
    .description('restores waiting for their tasks to claim')
    .action(act((cmd) => call(cmd, (c) => commands.restores(c))));

  root
    .command('exec')
    .description(
      "run a command on a task's restored fds, each at its original number, in a new session " +
        "whose controlling tty is the restored one; exits with the command's status",
    )
    .argument('<restore>', 'restore id')
    .argument('<command...>', 'the command and its arguments, after --')
    .requiredOption('--task <pid>', 'the original pid whose fds to take (0: the console)')
    .option('--no-ctty', 'place the fds but do not start a session or take a controlling tty')
    .action(
      act((cmd, restore: string, command: string[], opts: { task: string; ctty: boolean }) =>
        call(cmd, (c) =>
          execCommand(c, { restore, task: taskOf(opts.task), ctty: opts.ctty, command }),
        ),
      ),
    );

  root
    .command('attach')
    .description('join a restored pty master to this terminal (raw mode; Ctrl-] detaches)')
    .argument('<restore>', 'restore id')
    .requiredOption('--task <pid>', 'the original pid that held the master (0: the console)')
    .option('--fd <n>', "the master's original fd number, when the task held several")
    .action(
      act((cmd, restore: string, opts: { task: string; fd?: string }) =>
        call(cmd, (c) =>
          attachCommand(c, {
            restore,
            task: taskOf(opts.task),
            ...(opts.fd === undefined ? {} : { fd: fdOf(opts.fd) }),
          }),
        ),
      ),
    );

  root
    .command('console')
    .description(
      'send a restored pty master to a runc-style console socket (one fd, its pts path as ' +
        'the payload) and close this copy',
    )
    .argument('<restore>', 'restore id')
    .requiredOption('--console-socket <path>', 'the unix stream socket to send the master to')
    .option('--task <pid>', 'the original pid that held the master (0: the console)', '0')
    .option('--fd <n>', "the master's original fd number, when the task held several")
    .action(
      act((cmd, restore: string, opts: { consoleSocket: string; task: string; fd?: string }) =>
        call(cmd, async (c) => {
          const sent = await sendClaimedMaster(c, restore, opts.consoleSocket, {
            task: taskOf(opts.task),
            ...(opts.fd === undefined ? {} : { fd: fdOf(opts.fd) }),
          });
          return { result: sent, text: `sent ${sent.name} to ${sent.socket}` };
        }),
      ),
    );

  root
    .command('cancel')
    .description('close every fd a restore still holds')
    .argument('<restore>', 'restore id')
    .action(act((cmd, id: string) => call(cmd, (c) => commands.cancel(c, { id }))));

  root
    .command('export')
    .description('write a checkpoint image to a tar file, to import on another host')
    .argument('<id>')
    .argument('<file>', 'the tar file to write')
    .action(
      act((cmd, id: string, file: string) =>
        call(cmd, (c) => commands.exportImage(c, { id, file })),
      ),
    );

  root
    .command('import')
    .description('store a checkpoint from a tar file made by export; prints its new id')
    .argument('<file>')
    .option('--name <name>', 'name it anew')
    .action(
      act((cmd, file: string, opts: { name?: string }) =>
        call(cmd, (c) => commands.importImage(c, { file, ...opts })),
      ),
    );

  return root;
}

/** A task pid: 0 (the console) or a positive integer. */
function taskOf(text: string): number {
  return text === '0' ? 0 : commands.positive(text, '--task');
}

function fdOf(text: string): number {
  return text === '0' ? 0 : commands.positive(text, '--fd');
}

async function main(): Promise<void> {
  try {
    await program().parseAsync(process.argv);
  } catch (err) {
    // --help and --version end here with code 0, usage errors (already printed) with 2.
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0);
      // The option may not have been parsed: look for it as commander would have.
      const dashes = process.argv.indexOf('--');
      const options = dashes < 0 ? process.argv : process.argv.slice(0, dashes);
      if (options.includes('--json')) {
        printJson({ error: { reason: 'USAGE', message: err.message.replace(/^error: /, '') } });
      }
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`ttycr: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
