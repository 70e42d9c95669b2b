import t from 'tap';

import { TtycrError } from '../rpc-schema/errors.js';
import { dump } from '../daemon/tty/index.js';
import { readTaskStat } from '../daemon/tty/proc.js';
import { startHolder } from './helpers/holder.js';

const stopped = (pid: number) => readTaskStat(pid).state === 'T';

t.test('checkpoint [freeze resumes only what it stopped]', async (t) => {
  const holder = await startHolder({ ptys: [{}], child: [] });
  t.teardown(() => holder.kill());
  process.kill(holder.child!, 'SIGSTOP');
  while (!stopped(holder.child!)) await new Promise((r) => setTimeout(r, 1));

  await dump([holder.pid, holder.child!], { id: 'freeze', uid: 0, freeze: true });
  t.notOk(stopped(holder.pid), 'the task the dump stopped runs again');
  t.ok(stopped(holder.child!), 'the task that was stopped before stays stopped');
});

t.test('checkpoint [a refused task leaves every task running]', async (t) => {
  const holder = await startHolder({ ptys: [{}], child: [] });
  t.teardown(() => holder.kill());
  const asked: number[] = [];
  const refuse = (pid: number) => {
    asked.push(pid);
    if (pid === holder.child) throw new TtycrError('PERMISSION_DENIED', `not pid ${pid}`);
  };

  await t.rejects(
    dump([holder.pid], { id: 'refused', uid: 0, tree: true, freeze: true, authorize: refuse }),
    { reason: 'PERMISSION_DENIED', message: /not pid/ },
    'the dump fails with the refusal',
  );
  t.same(asked.sort(), [holder.pid, holder.child!].sort(), 'every task of the tree was asked');
  t.notOk(stopped(holder.pid) || stopped(holder.child!), 'and both run again');
});
