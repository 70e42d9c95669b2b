import t from 'tap';

import * as fd from '../daemon/sys/fd.js';
import { tcgets2 } from '../daemon/sys/termios.js';
import { checkpointHolder, fdOf, readState, restoreIt, send } from './helpers/scenario.js';

t.test('restore [master only]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({ ptys: [{ keep: 'master' }] });
  const tty = checkpoint.ttys[0]!;
  t.ok(tty.masterHeld && !tty.slaveHeld, 'only the master is held');
  t.equal(tty.peerClosed, true, 'its pts was opened and closed');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  t.equal(readState(master, null).index, holder.ptys[0]!.index, 'same index');
  t.equal(restored.tasks[0]!.fds.length, 1, 'the task gets one fd');
  t.ok(fd.pollOne(master, fd.POLLIN, 0) & fd.POLLHUP, 'the master sees its pts closed, as before');
});

t.test('restore [pts only, hung up]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({ ptys: [{ keep: 'slave' }] });
  const tty = checkpoint.ttys[0]!;
  t.ok(!tty.masterHeld && tty.slaveHeld, 'only the pts is held');
  t.equal(tty.hungUp, true, 'the image says hung up');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  t.equal(restored.ttys[0]!.newIndex, holder.ptys[0]!.index, 'same index');
  const slave = fdOf(restored, 0, 'slave');
  t.throws(() => tcgets2(slave), { code: 'EIO' }, 'the pts is hung up again');
  t.equal(restored.fds().length, 1, 'only the pts is held: the temporary master closed');
});

t.test('restore [pts only, master kept for a console]', async (t) => {
  // The master lives in the holder, which is not checkpointed; the child holds the pts.
  const { holder, checkpoint: full } = await checkpointHolder({
    ptys: [{ winsize: { rows: 30, cols: 100, xpixel: 0, ypixel: 0 } }],
    child: [[0, '0']],
    childOnly: true,
  });
  const checkpoint = { ...full, tasks: full.tasks.filter((task) => task.pid === holder.child) };
  const masterFile = full.files.find((f) => f.end === 'master')!;
  checkpoint.files = full.files.filter((f) => f !== masterFile).map((f, id) => ({ ...f, id }));
  checkpoint.tasks = checkpoint.tasks.map((task) => ({
    ...task,
    fds: task.fds.map((f) => ({ ...f, file: f.file > masterFile.id ? f.file - 1 : f.file })),
  }));
  checkpoint.ttys = full.ttys.map((tty) => ({ ...tty, masterHeld: false, orphanMaster: 'keep' }));

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const consoleTask = restored.tasks.find((task) => task.pid === 0);
  t.ok(consoleTask, 'a console task holds the master no task held');
  const master = consoleTask!.fds[0]!.daemonFd;
  const slave = fdOf(restored, 0, 'slave');
  t.equal(readState(master, slave).winsize.cols, 100, 'state set through the new master');
  t.match(send(master, slave, 'hi\n'), 'hi', 'bytes flow');
});
