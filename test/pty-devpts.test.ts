import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { fstat } from '../daemon/sys/fd.js';
import { checkpointHolder, fdOf, restoreIt, send } from './helpers/scenario.js';

/** A devpts instance of its own, mounted on a temporary directory. */
function mountDevpts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-devpts-'));
  execFileSync('mount', ['-t', 'devpts', '-o', 'newinstance,ptmxmode=0666', 'devpts', dir]);
  return dir;
}

t.test('restore [into another devpts instance, from a checkpoint made in one]', async (t) => {
  const source = mountDevpts();
  const target = mountDevpts();
  t.teardown(() => {
    for (const dir of [source, target]) {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    }
  });

  const { holder, checkpoint } = await checkpointHolder({
    ptmx: join(source, 'ptmx'),
    ptys: [{ atIndex: 3 }],
  });
  const tty = checkpoint.ttys[0]!;
  t.equal(tty.index, 3, 'the holder had index 3 in its own instance');
  t.equal(tty.devpts, statSync(source).dev, 'the image names the devpts instance it lived in');
  t.equal(tty.ptmx, join(source, 'ptmx'), 'and the ptmx its master was opened through');
  t.not(holder.ptys[0]!.index, -1);

  const restored = restoreIt(checkpoint, { ptmx: join(target, 'ptmx') });
  t.teardown(() => restored.close());
  const slave = fdOf(restored, 0, 'slave');
  t.equal(fstat(slave).dev, statSync(target).dev, 'the pts lives in the target instance');
  t.equal(restored.ttys[0]!.newIndex, 3, 'at the same index');
  t.equal(restored.ttys[0]!.path, join(target, '3'), 'the result names its path there');
  t.match(send(fdOf(restored, 0, 'master'), slave, 'hi\n'), 'hi', 'bytes flow');
});

t.test('restore [the ptmx must be a ptmx; one in a task root is looked up there]', async (t) => {
  const { checkpoint } = await checkpointHolder({ ptys: [{}] });
  t.throws(
    () => restoreIt(checkpoint, { ptmx: '/dev/null' }),
    { message: /\/dev\/null is not a ptmx/ },
    'a path to another device is refused before anything is opened',
  );

  const inRoot = `/proc/${process.pid}/root/dev/ptmx`;
  const restored = restoreIt(checkpoint, { ptmx: inRoot });
  t.teardown(() => restored.close());
  t.equal(restored.ttys[0]!.newIndex, checkpoint.ttys[0]!.index, 'a ptmx inside a task root');
});
