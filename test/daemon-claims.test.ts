// Claims over the real socket: once per task, refused after expiry (whose fds are closed),
// refused after cancel; the daemon holds no fd afterwards.

import t from 'tap';

import { closeQuietly } from '../daemon/sys/fd.js';
import { getPtyIndex } from '../daemon/sys/pty.js';
import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('claim [once, expiry, cancel]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const holder = await startHolder({ ptys: [{}], child: [[0, '0']] });
  t.teardown(() => holder.kill());

  await client.call('daemon.status');
  const baseline = daemon.fdCount();
  const created = await client.call('checkpoint.create', { pids: [holder.pid], tree: true });
  const id = created.result.id as string;
  t.same(created.result.pids.sort(), [holder.pid, holder.child].sort(), 'two tasks checkpointed');

  const started = await client.call('restore.start', { id, indexPolicy: 'any' });
  t.notOk(started.error, 'restore.start [no error]', { error: started.error });
  const restore = started.result.id as string;
  const first = await client.call('restore.claim', { id: restore, task: holder.pid });
  t.ok(first.fds.length > 0, 'claim [fds arrive]');
  for (const fd of first.fds) closeQuietly(fd);

  const second = await client.call('restore.claim', { id: restore, task: holder.pid });
  t.equal(second.error?.data?.reason, 'ALREADY_CLAIMED', 'claim [second claim refused]');
  t.equal(second.fds.length, 0, 'claim [no fds with a refusal]');
  const stranger = await client.call('restore.claim', { id: restore, task: 999999 });
  t.equal(stranger.error?.data?.reason, 'NOT_FOUND', 'claim [unknown task]');

  const expiring = await client.call('restore.start', { id, indexPolicy: 'any', ttl: 1 });
  const held = (await client.call('daemon.status')).result.pendingFds as number;
  t.ok(held > 0, 'restore holds fds while pending');
  await waitFor(async () => (await client.call('restore.list')).result.restores.length <= 1);
  const late = await client.call('restore.claim', { id: expiring.result.id, task: holder.pid });
  t.equal(late.error?.data?.reason, 'EXPIRED', 'claim [expired restore refused]');
  t.ok(
    daemon.logs.some((l) => l.message === 'restore expired unclaimed' && l.level === 'warn'),
    'expiry [warn log line]',
  );

  const cancelled = await client.call('restore.cancel', { id: restore });
  t.ok(cancelled.result.closed > 0, 'cancel [closes the unclaimed task fds]');
  const afterCancel = await client.call('restore.claim', { id: restore, task: holder.child });
  t.equal(afterCancel.error?.data?.reason, 'NOT_FOUND', 'claim [cancelled restore is gone]');

  const status = await client.call('daemon.status');
  t.equal(status.result.pendingFds, 0, 'no pending fds');
  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
}

t.test('claim [a task with more fds than one sendmsg carries gets them all]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  // 150 ptys, both ends: 300 fds in one task, over SCM_MAX_FD (253).
  const holder = await startHolder({ ptys: Array.from({ length: 150 }, () => ({})) });
  t.teardown(() => holder.kill());

  await client.call('daemon.status');
  const baseline = daemon.fdCount();
  const id = (await client.call('checkpoint.create', { pids: [holder.pid] })).result.id;
  const started = await client.call('restore.start', { id, indexPolicy: 'any' });
  t.notOk(started.error, 'restore.start [no error]', { error: started.error });
  const claim = await client.call('restore.claim', { id: started.result.id, task: holder.pid });
  t.notOk(claim.error, 'restore.claim [no error]', { error: claim.error });
  t.equal(claim.fds.length, 300, 'every fd arrives');
  t.equal(claim.result.fds.length, 300, 'each described in the reply');

  const newIndex = new Map<number, number>(
    started.result.ttys.map((tty: { id: number; newIndex: number }) => [tty.id, tty.newIndex]),
  );
  const wrong = claim.result.fds.filter(
    (f: { tty: number; end: string }, i: number) =>
      f.end === 'master' && getPtyIndex(claim.fds[i]!) !== newIndex.get(f.tty),
  );
  t.same(wrong, [], 'each master at its place in the list is the pty the reply says');
  for (const fd of claim.fds) closeQuietly(fd);

  await client.call('daemon.status');
  t.equal(daemon.fdCount(), baseline, 'the daemon holds nothing once all is claimed');
});
