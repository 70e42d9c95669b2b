import t from 'tap';

import { dump } from '../daemon/tty/index.js';
import { Tasks } from '../daemon/tty/tasks.js';
import { startHolder } from './helpers/holder.js';

t.test('checkpoint [the daemon never checkpoints itself]', async (t) => {
  await t.rejects(
    dump([process.pid], { id: 'self', uid: 0, freeze: true }),
    { reason: 'PERMISSION_DENIED', message: `pid ${process.pid} is ttycrd itself` },
    'its own pid is refused before anything is stopped',
  );
});

t.test('checkpoint [a task that exits during the dump fails it]', async (t) => {
  const holder = await startHolder({ ptys: [{}] });
  const tasks = new Tasks();
  t.teardown(() => tasks.close());

  tasks.add([holder.pid], false);
  t.doesNotThrow(() => tasks.checkAlive(), 'a live task passes');

  // Its fds vanish one by one as it exits, and a dump skips a vanished fd: only the pidfd says
  // the task is gone.
  await holder.kill();
  t.throws(
    () => tasks.checkAlive(),
    { reason: 'NO_SUCH_PROCESS', message: `pid ${holder.pid} exited during the checkpoint` },
    'an exited one fails the dump',
  );
});
