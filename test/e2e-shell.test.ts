// The main job through the CLI: a shell in tmux with changed settings is checkpointed and killed,
// its terminal restored, and a new process runs on it through `ttycr exec`.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { TtycrClient } from '../client/client.js';
import { closeQuietly, writeAll } from '../daemon/sys/fd.js';
import type { Result } from '../rpc-schema/methods.js';
import { startTmuxShell, ttycr, ttycrJson, waitFor } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

const SETTINGS = 'stty -echo -icanon min 3 time 7 rows 43 cols 132';

t.test('exec [a restored shell terminal]', async (t) => {
  const daemon = await startDaemon();
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-e2e-'));
  const shell = startTmuxShell(100, 30);
  const fds: number[] = [];
  t.teardown(async () => {
    for (const fd of fds) closeQuietly(fd);
    shell.kill();
    await daemon.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  shell.type(SETTINGS);
  const before = await shell.capture('tty; stty -a', join(dir, 'before'));
  const pts = before.split('\n')[0]!;
  t.match(pts, /^\/dev\/pts\/\d+$/, 'the shell runs on a pts');

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    String(shell.pid),
  ]);
  t.equal(made.ttys.length, 1, 'the checkpoint holds one tty');
  // tmux closes the pane's master once bash is gone; until then the index is taken.
  await waitFor(`${pts} to be free`, () => !existsSync(pts));

  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, ['restore', made.id]);
  t.equal(restore.ttys[0]?.path, pts, 'the pty is back at the same /dev/pts/N');

  // The master waits for the console (task 0): the test plays the terminal emulator.
  const client = await TtycrClient.connect(daemon.socket);
  const master = await client.claim(restore.id, 0).finally(() => client.close());
  fds.push(...master.fds);
  t.equal(master.result.fds[0]?.end, 'master', 'the console claim brings the master');

  const out = join(dir, 'after');
  const script =
    `{ tty; stty -a; } > ${out}.tmp; mv ${out}.tmp ${out}; cat /proc/$$/stat > ${out}.stat; ` +
    `read -r line; echo "$line" > ${out}.read`;
  const exec = ttycr(daemon.socket, [
    'exec',
    restore.id,
    '--task',
    String(shell.pid),
    '--',
    'sh',
    '-c',
    script,
  ]);
  await waitFor('the new process to report', () => existsSync(`${out}.stat`));

  t.equal(readFileSync(out, 'utf8'), before, 'tty and stty -a say what they said before');

  const stat = statFields(readFileSync(`${out}.stat`, 'utf8'));
  t.equal(stat.session, stat.pid, 'the new process leads its session');
  t.equal(stat.ttyNr, statSync(pts).rdev, 'its controlling tty is the restored pts');
  t.equal(stat.tpgid, stat.pgrp, 'its process group is in the foreground');

  writeAll(master.fds[0]!, Buffer.from('hello through the master\n'));
  const run = await exec;
  t.equal(run.code, 0, `ttycr exec exits with the command's status: ${run.stderr}`);
  t.equal(
    readFileSync(`${out}.read`, 'utf8'),
    'hello through the master\n',
    'bytes written to the master reach the new process',
  );
});

/** The fields of /proc/PID/stat that say who leads the session and owns the terminal. */
function statFields(stat: string) {
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid ...
  const [, , pgrp, session, ttyNr, tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pid = Number(stat.slice(0, stat.indexOf(' ')));
  return {
    pid,
    pgrp: Number(pgrp),
    session: Number(session),
    ttyNr: Number(ttyNr),
    tpgid: Number(tpgid),
  };
}
