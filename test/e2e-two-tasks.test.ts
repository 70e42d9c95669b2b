// Two tasks, two ends: one process held a pty's master, another its pts. After the restore
// each end goes to a new process through `ttycr exec`, and the two talk over the pty.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

t.test('exec [master in one process, pts in another]', async (t) => {
  const daemon = await startDaemon();
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-e2e-'));
  // The holder keeps the pts; its child (fd 3) the master.
  const holder = await startHolder({ ptys: [{}], child: [[0, 'master']], childOnly: true });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const slaveFd = holder.ptys[0]!.slaves[0]!;
  const pids = [String(holder.pid), String(holder.child)];

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    ...pids,
  ]);
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, [
    'restore',
    '--index-policy',
    'any',
    made.id,
  ]);
  const ends = restore.tasks.map((task) => `${task.pid}: ${task.fds.map((f) => f.end)}`);
  t.same(
    ends.sort(),
    [`${holder.pid}: slave`, `${holder.child}: master`].sort(),
    'each task waits for its own end',
  );

  // Echo is on, so the master side also reads back its own line: it waits for the answer.
  const masterSide =
    `printf 'ping\\n' >&3; while IFS= read -r line <&3; do ` +
    `case "$line" in pong*) echo "$line" > ${dir}/master-heard; exit 0;; esac; done; exit 1`;
  const slaveSide =
    `IFS= read -r msg <&${slaveFd}; echo "$msg" > ${dir}/pts-heard; ` +
    `printf 'pong\\n' >&${slaveFd}`;
  const exec = (task: number | null, script: string) =>
    ttycr(daemon.socket, [
      'exec',
      restore.id,
      '--task',
      String(task),
      '--',
      'timeout',
      '20',
      'bash',
      '-c',
      script,
    ]);

  const [master, slave] = await Promise.all([
    exec(holder.child, masterSide),
    exec(holder.pid, slaveSide),
  ]);
  t.equal(master.code, 0, `the master side exits 0: ${master.stderr}`);
  t.equal(slave.code, 0, `the pts side exits 0: ${slave.stderr}`);
  t.equal(readFileSync(`${dir}/pts-heard`, 'utf8'), 'ping\n', 'the pts side reads the ping');
  t.equal(readFileSync(`${dir}/master-heard`, 'utf8'), 'pong\r\n', 'the master side reads pong');
});
