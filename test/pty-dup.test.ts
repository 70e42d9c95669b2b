import t from 'tap';

import * as fd from '../daemon/sys/fd.js';
import { checkpointHolder, restoreIt } from './helpers/scenario.js';

t.test('restore [dup fds share one open file and its flags]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({
    ptys: [{ dups: 2, slaveNonblock: true, masterAppend: true }],
  });
  const slaves = holder.ptys[0]!.slaves;
  t.equal(checkpoint.files.length, 2, 'three pts fds are one open file');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const task = restored.tasks[0]!;
  const restoredSlaves = task.fds.filter((f) => f.end === 'slave');
  t.same(
    restoredSlaves.map((f) => f.fd),
    slaves,
    'every dup is listed at its own fd number',
  );
  t.equal(new Set(restoredSlaves.map((f) => f.daemonFd)).size, 1, 'all point at one open file');
  const slave = restoredSlaves[0]!.daemonFd;
  t.ok(fd.getfl(slave) & fd.O_NONBLOCK, 'O_NONBLOCK set on the shared pts file');
  const master = task.fds.find((f) => f.end === 'master')!.daemonFd;
  t.ok(fd.getfl(master) & fd.O_APPEND, 'O_APPEND set on the master');
  t.notOk(fd.getfl(master) & fd.O_NONBLOCK, 'and no O_NONBLOCK there');
});
