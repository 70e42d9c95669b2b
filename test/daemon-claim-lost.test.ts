// A claim whose reply never reaches the client (it stopped reading): the task may claim again.

import t from 'tap';

import { connect } from '../client/connection.js';
import { closeQuietly } from '../daemon/sys/fd.js';
import { SHUT_RD, shutdown } from '../daemon/sys/socket.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

t.test('claim [a reply that could not be sent leaves the task claimable]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const created = await client.call('checkpoint.create', { pids: [holder.pid] });
  const started = await client.call('restore.start', {
    id: created.result.id,
    indexPolicy: 'any',
  });
  t.notOk(started.error, 'restore.start [no error]', { error: started.error });
  const restore = started.result.id as string;

  // This client shuts its read side before asking: the daemon's sendmsg of the reply (and of
  // the fds) fails with EPIPE, so the fds never leave the daemon.
  const lost = await connect(daemon.socket);
  shutdown(lost.fd, SHUT_RD);
  const claim = { jsonrpc: '2.0', id: 1, method: 'restore.claim' };
  lost.send(JSON.stringify({ ...claim, params: { id: restore, task: holder.pid } }));
  await lost.finished;
  // The daemon has answered the claim once it logged how it went.
  const settled = ['claim reply not delivered', 'restore claimed'];
  await waitFor(() => daemon.logs.some((l) => settled.includes(l.message as string)));

  const again = await client.call('restore.claim', { id: restore, task: holder.pid });
  t.notOk(again.error, 'claim [a second claim succeeds]', { error: again.error });
  t.ok(again.fds.length > 0, 'claim [fds arrive the second time]');
  for (const fd of again.fds) closeQuietly(fd);

  const listed = await client.call('restore.list');
  t.same(listed.result.restores, [], 'claim [the restore is done once claimed]');
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}
