import t from 'tap';

import {
  fdOf,
  checkpointHolder,
  openFdCount,
  readState,
  restoreIt,
  send,
} from './helpers/scenario.js';

t.test('restore [pair in one process]', async (t) => {
  const baseline = openFdCount();
  const { holder, checkpoint } = await checkpointHolder({
    ptys: [{ winsize: { rows: 43, cols: 132, xpixel: 1056, ypixel: 688 } }],
  });
  const original = holder.ptys[0]!;

  t.equal(checkpoint.ttys.length, 1, 'one tty in the image');
  t.equal(checkpoint.files.length, 2, 'a master and a pts open file');
  const [task] = checkpoint.tasks;
  t.same(
    task!.fds.map((f) => f.fd),
    [original.master, original.slaves[0]],
    'the task holds the master and the pts at their fd numbers',
  );

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  const slave = fdOf(restored, 0, 'slave');
  const state = readState(master, slave);
  t.equal(state.index, original.index, 'same pts index');
  t.equal(restored.ttys[0]!.newIndex, original.index, 'the result reports the index');
  t.same(state.winsize, { rows: 43, cols: 132, xpixel: 1056, ypixel: 688 }, 'window size');
  t.same(state.termios, checkpoint.ttys[0]!.termios, 'termios');
  t.equal(state.locked, false, 'unlocked');

  t.match(send(master, slave, 'ping\n'), 'ping', 'master to pts');
  t.match(send(slave, master, 'pong\n'), 'pong', 'pts to master');

  restored.close();
  t.equal(openFdCount(), baseline, 'no fd left behind');
});
