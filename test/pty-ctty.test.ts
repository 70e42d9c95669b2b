import t from 'tap';

import { fstat, makedev } from '../daemon/sys/fd.js';
import { dump } from '../daemon/tty/index.js';
import { startHolder } from './helpers/holder.js';
import { checkpointHolder, restoreIt } from './helpers/scenario.js';

t.test('restore [a controlling tty that no fd holds]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({
    session: true,
    ptys: [{ keep: 'master', ctty: 'bare' }],
  });
  const task = checkpoint.tasks[0]!;
  const tty = checkpoint.ttys[0]!;
  t.equal(task.sid, holder.pid, 'the holder led its session');
  t.equal(task.ctty, tty.id, 'the image keeps its controlling tty');
  t.equal(tty.session, holder.pid, 'the tty knows its session');
  t.equal(tty.foreground, holder.pid, 'and its foreground group');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const ctty = restored.tasks[0]!.ctty!;
  t.ok(ctty, 'the task is told about its controlling tty');
  t.same([ctty.leader, ctty.foreground], [true, true], 'as leader, in the foreground');
  const entry = restored.tasks[0]!.fds[ctty.fdIndex]!;
  t.equal(entry.fd, -1, 'through a pts fd that is not placed at any number');
  const index = restored.ttys[0]!.newIndex;
  t.equal(fstat(entry.daemonFd).rdev, makedev(136, index), 'a pts of the restored pty');
});

t.test('restore [/dev/tty fd]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({
    session: true,
    ptys: [{ ctty: 'devtty' }],
  });
  const devtty = holder.ptys[0]!.devtty;
  const taskFd = checkpoint.tasks[0]!.fds.find((f) => f.fd === devtty)!;
  t.ok(taskFd, 'the /dev/tty fd is in the image');
  t.equal(checkpoint.files[taskFd.file]!.end, 'ctty', 'as an open file of /dev/tty');
  t.equal(checkpoint.files[taskFd.file]!.tty, 0, 'on the pty it controls');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const entry = restored.tasks[0]!.fds.find((f) => f.fd === devtty)!;
  t.equal(entry.end, 'ctty', 'the task gets it back as a ctty entry at its number');
  const index = restored.ttys[0]!.newIndex;
  t.equal(fstat(entry.daemonFd).rdev, makedev(136, index), 'standing on the restored pts');
});

t.test('checkpoint [a ctty whose pty no task of the set holds]', async (t) => {
  const holder = await startHolder({ session: true, ptys: [{ ctty: 'fd' }], child: [] });
  t.teardown(() => holder.kill());
  const checkpoint = await dump([holder.child!], { id: 'ctty-only', uid: 0 });
  const tty = checkpoint.ttys[0]!;
  t.equal(checkpoint.tasks[0]!.ctty, 0, 'the child keeps the ctty it inherited');
  t.same([tty.masterHeld, tty.slaveHeld], [false, false], 'no fd of the set holds it');
  t.equal(tty.orphanMaster, 'keep', 'its new master will wait for a console');
  t.equal(tty.index, holder.ptys[0]!.index, 'same index');

  await holder.kill();
  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  t.ok(
    restored.tasks.find((task) => task.pid === 0),
    'a console task takes the master',
  );
  const child = restored.tasks.find((task) => task.pid === holder.child)!;
  t.equal(child.ctty?.tty, 0, 'the child gets its ctty back');
});
