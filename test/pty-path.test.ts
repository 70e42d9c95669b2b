import t from 'tap';

import { fstat, getfl, makedev, O_PATH } from '../daemon/sys/fd.js';
import { checkpointHolder, fdOf, readState, restoreIt } from './helpers/scenario.js';

t.test('restore [an O_PATH fd naming the pts]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({
    ptys: [{ namePts: true }, { keep: 'master', namePts: true }],
  });
  const name = holder.ptys[0]!.name;
  const taskFd = checkpoint.tasks[0]!.fds.find((f) => f.fd === name)!;
  const file = checkpoint.files[taskFd.file]!;
  t.ok(file.flags & O_PATH, 'the image keeps it as an O_PATH file on the pts');
  t.equal(checkpoint.ttys[1]!.slaveHeld, false, 'a name alone does not count as holding the pts');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const entry = restored.tasks[0]!.fds.find((f) => f.fd === name)!;
  t.ok(getfl(entry.daemonFd) & O_PATH, 'it comes back as an O_PATH fd');
  const index = restored.ttys[0]!.newIndex;
  t.equal(fstat(entry.daemonFd).rdev, makedev(136, index), 'naming the restored pts');
  t.equal(readState(fdOf(restored, 0, 'master'), null).index, index, 'the pty is whole');
});
