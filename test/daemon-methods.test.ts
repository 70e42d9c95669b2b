// Every method's normal path against a real ttycrd, over its real socket: a checkpoint of a
// process holding a pty, restored, claimed with working fds, listed, cancelled and deleted.

import { existsSync } from 'node:fs';

import t from 'tap';

import { methods } from '../rpc-schema/methods.js';
import { close } from '../daemon/sys/fd.js';
import { getPtyIndex } from '../daemon/sys/pty.js';
import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { send } from './helpers/scenario.js';

t.test('daemon methods [normal path]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const status = await client.call('daemon.status');
  t.equal(status.result?.pid, daemon.pid, 'daemon.status [pid]');
  t.ok(methods['daemon.status'].result.safeParse(status.result).success, 'daemon.status [schema]');
  const baseline = daemon.fdCount();

  const created = await client.call('checkpoint.create', { pids: [holder.pid], name: 'one' });
  t.notOk(created.error, 'checkpoint.create [no error]');
  const id = created.result.id as string;
  t.match(id, /^\d{8}-\d{6}-[a-z0-9]{5}$/, 'checkpoint.create [readable id]');
  t.equal(created.result.ttys.length, 1, 'checkpoint.create [one tty]');
  t.ok(
    methods['checkpoint.create'].result.safeParse(created.result).success,
    'checkpoint.create [schema]',
  );

  const list = await client.call('checkpoint.list');
  t.same(
    list.result.checkpoints.map((c: { id: string }) => c.id),
    [id],
    'checkpoint.list [the one]',
  );

  const got = await client.call('checkpoint.get', { id });
  t.equal(got.result.checkpoint.tasks[0].pid, holder.pid, 'checkpoint.get [its task]');
  t.ok(methods['checkpoint.get'].result.safeParse(got.result).success, 'checkpoint.get [schema]');

  // The holder still has its pty, so the index is taken: restore elsewhere.
  const started = await client.call('restore.start', { id, indexPolicy: 'any' });
  t.notOk(started.error, 'restore.start [no error]');
  const restore = started.result.id as string;
  t.match(restore, /^r-[a-z0-9-]+$/, 'restore.start [restore id]');
  const newIndex = started.result.ttys[0].newIndex as number;

  const pending = await client.call('restore.list');
  t.same(
    pending.result.restores.map((r: { id: string }) => r.id),
    [restore],
    'restore.list',
  );

  const claim = await client.call('restore.claim', { id: restore, task: holder.pid });
  t.notOk(claim.error, 'restore.claim [no error]');
  t.equal(claim.fds.length, claim.result.fds.length, 'restore.claim [one fd per entry]');
  const masterAt = claim.result.fds.findIndex((f: { end: string }) => f.end === 'master');
  const slaveAt = claim.result.fds.findIndex((f: { end: string }) => f.end === 'slave');
  const master = claim.fds[masterAt]!;
  const slave = claim.fds[slaveAt]!;
  t.equal(getPtyIndex(master), newIndex, 'restore.claim [TIOCGPTN gives the restored index]');
  t.match(send(master, slave, 'hello\n'), 'hello', 'restore.claim [bytes reach the pts]');
  for (const fd of claim.fds) close(fd);

  const after = await client.call('restore.list');
  t.same(after.result.restores, [], 'restore.list [empty once every task claimed]');

  const again = await client.call('restore.start', { id, indexPolicy: 'any' });
  const cancelled = await client.call('restore.cancel', { id: again.result.id });
  t.equal(cancelled.result.closed, 2, 'restore.cancel [closes master and pts]');

  const discover = await client.call('rpc.discover');
  t.equal(discover.result.openrpc, '1.2.6', 'rpc.discover');

  const deleted = await client.call('checkpoint.delete', { id });
  t.same(deleted.result, { id, deleted: true }, 'checkpoint.delete');
  const gone = await client.call('checkpoint.get', { id });
  t.equal(gone.error?.data?.reason, 'NOT_FOUND', 'checkpoint.get [deleted is NOT_FOUND]');

  const imported = await client.call('checkpoint.import', { checkpoint: got.result.checkpoint });
  t.match(imported.result?.id, /^\d{8}-/, 'checkpoint.import [new id]');

  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
  const pendingAtStop = await client.call('restore.start', {
    id: imported.result.id,
    indexPolicy: 'any',
  });
  t.ok(pendingAtStop.result?.id, 'a restore pending at stop');
  t.equal(await daemon.stop(), 0, 'SIGTERM [exit 0]');
  t.notOk(existsSync(daemon.socket), 'SIGTERM [socket file removed]');
  t.ok(
    daemon.logs.some((l) => l.message === 'pending restores closed' && Number(l.closed) > 0),
    'SIGTERM [pending restores closed]',
  );
});
