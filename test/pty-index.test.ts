import t from 'tap';

import * as fd from '../daemon/sys/fd.js';
import { getPtyIndex, openPtmx } from '../daemon/sys/pty.js';
import { checkpointHolder, fdOf, openFdCount, ptyCount, restoreIt } from './helpers/scenario.js';

/** Opens masters until `index` comes up, keeps that one, closes the rest. */
function occupy(index: number): number {
  const extra: number[] = [];
  for (;;) {
    const m = openPtmx('/dev/ptmx');
    if (getPtyIndex(m) >= index) {
      extra.forEach(fd.close);
      return m;
    }
    extra.push(m);
  }
}

t.test('restore [index 40 with the indices below it free]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({ ptys: [{ atIndex: 40 }] });
  t.equal(holder.ptys[0]!.index, 40, 'the holder had index 40');
  const before = ptyCount();
  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  t.equal(getPtyIndex(fdOf(restored, 0, 'master')), 40, 'restored at index 40');
  t.equal(ptyCount(), before + 1, 'the 40 masters held to get there are closed');
});

t.test('restore [index taken]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({ ptys: [{ atIndex: 5 }] });
  const index = holder.ptys[0]!.index;
  const squatter = occupy(index);
  t.teardown(() => fd.close(squatter));
  t.equal(getPtyIndex(squatter), index, 'someone else now has the index');

  const fds = openFdCount();
  const ptys = ptyCount();
  t.throws(
    () => restoreIt(checkpoint),
    { reason: 'INDEX_BUSY', message: new RegExp(`index ${index} is taken`) },
    'exact policy: INDEX_BUSY naming the index',
  );
  t.equal(openFdCount(), fds, 'no fd leaked');
  t.equal(ptyCount(), ptys, 'no pty leaked');

  const restored = restoreIt(checkpoint, { indexPolicy: 'any' });
  t.teardown(() => restored.close());
  const tty = restored.ttys[0]!;
  t.equal(tty.oldIndex, index, 'policy any reports the old index');
  t.not(tty.newIndex, index, 'and a different new one');
  t.equal(getPtyIndex(fdOf(restored, 0, 'master')), tty.newIndex, 'which the master has');
});
