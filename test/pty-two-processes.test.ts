import t from 'tap';

import { checkpointHolder, fdOf, readState, restoreIt, send } from './helpers/scenario.js';

t.test('restore [master and pts in two processes]', async (t) => {
  const { holder, checkpoint } = await checkpointHolder({
    ptys: [{}],
    child: [[0, '0']],
    childOnly: true,
  });

  t.equal(checkpoint.tasks.length, 2, 'both processes are in the image');
  const [parent, child] = checkpoint.tasks;
  t.same(
    parent!.fds.map((f) => checkpoint.files[f.file]!.end),
    ['master'],
    'parent: master',
  );
  t.same(
    child!.fds.map((f) => [f.fd, checkpoint.files[f.file]!.end]),
    [[3, 'slave']],
    'child: pts',
  );

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const byPid = new Map(restored.tasks.map((task) => [task.pid, task]));
  t.equal(byPid.get(holder.pid)!.fds[0]!.end, 'master', 'the master goes to the parent');
  t.equal(byPid.get(holder.child!)!.fds[0]!.fd, 3, 'the pts goes to the child at fd 3');

  const master = fdOf(restored, 0, 'master');
  const slave = fdOf(restored, 0, 'slave');
  t.equal(readState(master, slave).index, holder.ptys[0]!.index, 'same index');
  t.match(send(master, slave, 'hello\n'), 'hello', 'master to pts');
  t.match(send(slave, master, 'world\n'), 'world', 'pts to master');
});

t.test('restore [one master, pts fds in several tasks, node owner and mode]', async (t) => {
  const node = { uid: 65534, gid: 5, mode: 0o620 };
  const { holder, checkpoint } = await checkpointHolder({
    ptys: [{ slaves: 2, node }],
    child: [[0, '1']],
  });

  t.same(checkpoint.ttys[0]!.node, node, 'the image has the pts node owner, group and mode');
  t.equal(checkpoint.files.filter((f) => f.end === 'slave').length, 2, 'two pts open files');
  const shared = checkpoint.tasks.map((task) => task.fds.map((f) => f.file));
  const childFile = shared[1]![0]!;
  t.ok(shared[0]!.includes(childFile), 'the child shares an open file with its parent');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const parentFds = restored.tasks[0]!.fds;
  const childFds = restored.tasks[1]!.fds;
  const sharedFd = parentFds.find((f) => f.file === childFile)!.daemonFd;
  t.equal(childFds[0]!.daemonFd, sharedFd, 'it is one open file again after restore');

  const slaves = parentFds.filter((f) => f.end === 'slave').map((f) => f.daemonFd);
  t.equal(new Set(slaves).size, 2, 'two separate pts open files');

  const { statSync } = await import('node:fs');
  const st = statSync(`/proc/self/fd/${slaves[0]}`);
  t.same({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, node, 'node owner and mode');
  t.equal(readState(fdOf(restored, 0, 'master'), null).index, holder.ptys[0]!.index, 'index');
});
