// Freezing a task whose parent watches it: tmux resumes a pane's shell that stops, and a shell
// takes the terminal's foreground back from a job that stops. A freeze by ptrace is seen by
// neither, so the dump succeeds and saves the terminal as it was.

import { existsSync } from 'node:fs';

import t from 'tap';

import { dump } from '../daemon/tty/index.js';
import { readChildren, readTaskStat } from '../daemon/tty/proc.js';
import { sleep, startTmuxShell, waitFor } from './helpers/cli.js';

t.test('checkpoint [freeze a tmux pane: tmux does not resume it]', async (t) => {
  const shell = startTmuxShell(80, 24);
  t.teardown(() => shell.kill());

  for (let i = 0; i < 5; i++) {
    const checkpoint = await dump([shell.pid], { id: `pane-${i}`, uid: 0, freeze: true });
    t.equal(checkpoint.ttys.length, 1, `dump ${i + 1}: the pane's pts is saved`);
  }
  const withData = await dump([shell.pid], { id: 'pane-data', uid: 0, data: true });
  t.equal(withData.ttys.length, 1, 'a dump with queued data, which freezes, succeeds too');
  t.not(readTaskStat(shell.pid).state, 'T', 'the shell runs again after');
});

t.test('checkpoint [freeze a foreground job: its shell keeps it in front]', async (t) => {
  const shell = startTmuxShell(80, 24);
  t.teardown(() => shell.kill());
  shell.type('bash --norc --noediting');
  let job = 0;
  await waitFor('the inner shell in the foreground', () => {
    job = readChildren(shell.pid)[0] ?? 0;
    return job > 0 && readTaskStat(job).tpgid === readTaskStat(job).pgrp;
  });
  const pgrp = readTaskStat(job).pgrp;

  let frontWhileFrozen = 0;
  const checkpoint = await dump([job], {
    id: 'job',
    uid: 0,
    freeze: true,
    // Runs while the job is frozen; a shell that saw it stop would have taken the terminal.
    authorize: async () => {
      await sleep(200);
      frontWhileFrozen = readTaskStat(shell.pid).tpgid;
    },
  });
  t.equal(frontWhileFrozen, pgrp, 'while frozen, the job is still in the foreground');
  t.equal(checkpoint.ttys[0]!.foreground, pgrp, 'and the image says so');
  await sleep(200);
  t.equal(readTaskStat(job).tpgid, pgrp, 'after the thaw too');
  t.not(readTaskStat(job).state, 'T', 'and the job runs');
});

t.test('checkpoint [freeze and kill a tmux pane: tmux sees it exit]', async (t) => {
  const shell = startTmuxShell(80, 24);
  t.teardown(() => shell.kill());

  const checkpoint = await dump([shell.pid], { id: 'killed', uid: 0, freeze: true, kill: true });
  t.throws(
    () => readTaskStat(shell.pid),
    { reason: 'NO_SUCH_PROCESS', message: `no process ${shell.pid}` },
    'the shell is reaped',
  );
  // Its tracer let go of the dead shell, so tmux learns of the exit and closes the pane's pty.
  const pts = `/dev/pts/${checkpoint.ttys[0]!.index}`;
  await waitFor(`${pts} to go`, () => !existsSync(pts), 5000);
  t.pass(`${pts} is free for the restore`);
});
