// Limits of the dispatcher and the restore table: batch length, pending restores per uid.

import t from 'tap';

import { Dispatcher } from '../daemon/server/dispatch.js';
import type { Handlers } from '../daemon/server/methods/index.js';
import { RestoreTable } from '../daemon/server/restores.js';
import type { Restored } from '../daemon/tty/types.js';

const root = { pid: process.pid, uid: 0, gid: 0 };

t.test('limits [a batch of 101 is refused, 100 answered]', async (t) => {
  const handlers = new Proxy({} as Handlers, { get: () => () => ({}) });
  const dispatcher = new Dispatcher({ handlers, discover: () => ({}) });
  const batch = (n: number) =>
    JSON.stringify(
      Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'rpc.discover' })),
    );

  const over = JSON.parse((await dispatcher.handle(batch(101), [], root)).reply!);
  t.equal(over.error?.code, -32600, 'over the cap: Invalid Request');
  const at = JSON.parse((await dispatcher.handle(batch(100), [], root)).reply!);
  t.equal(at.length, 100, 'at the cap: every request answered');
});

t.test('limits [pending restores per uid]', async (t) => {
  const table = new RestoreTable({ ttlSeconds: 60, maxPerUid: 2 });
  t.teardown(() => table.closeAll());
  let closed = 0;
  const restored = (): Restored =>
    ({ ttys: [], tasks: [], fds: () => [], close: () => (closed++, 0) }) as unknown as Restored;

  table.add('c1', 1000, restored());
  table.add('c1', 1000, restored());
  const third = (() => {
    try {
      table.add('c1', 1000, restored());
      return 'added';
    } catch (err) {
      return (err as { reason?: string }).reason;
    }
  })();
  t.equal(third, 'LIMIT_EXCEEDED', 'a third for the same uid is refused');
  t.equal(closed, 1, 'the refused restore is closed');
  t.doesNotThrow(() => table.add('c1', 1001, restored()), 'another uid has its own cap');
});
