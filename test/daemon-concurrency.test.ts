// 200 connections at once, each making calls, against a real daemon: every call answered, and
// every connection's fd released afterwards.

import t from 'tap';

import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('connections [200 concurrent]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const first = await RpcClient.connect(daemon.socket);
  await first.call('daemon.status');
  first.close();
  const baseline = await daemon.settledFdCount(daemon.fdCount() - 1);

  const clients = await Promise.all(
    Array.from({ length: 200 }, () => RpcClient.connect(daemon.socket)),
  );
  t.teardown(() => clients.forEach((c) => c.close()));
  const replies = await Promise.all(
    clients.map(async (client) => [
      await client.call('daemon.status'),
      await client.call('checkpoint.list'),
      await client.call('restore.list'),
    ]),
  );

  const answered = replies.flat().filter((r) => r.result !== undefined).length;
  t.equal(answered, 600, 'every call answered');
  const counts = replies.map(([status]) => status!.result.connections as number);
  t.ok(Math.max(...counts) > 1, 'connections were open at the same time');

  for (const client of clients) client.close();
  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
});
