// The daemon SIGKILLed in the middle of writing a checkpoint: after a restart the earlier
// checkpoint is whole, the interrupted one does not exist, and its temporary files are gone.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('crash [SIGKILL mid checkpoint]', async (t) => {
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const first = await startDaemon();
  t.teardown(() => first.cleanup());
  const client = await RpcClient.connect(first.socket);
  const whole = (await client.call('checkpoint.create', { pids: [holder.pid] })).result.id;
  client.close();
  await first.stop();

  // This daemon stops every checkpoint write after its files are synced, before the rename.
  const stalling = await startDaemon({ dir: first.dir, env: { TTYCRD_TEST_STALL_COMMIT: '1' } });
  t.teardown(() => stalling.kill());
  const doomed = await RpcClient.connect(stalling.socket);
  void doomed.call('checkpoint.create', { pids: [holder.pid] }).catch(() => null);
  const checkpoints = join(stalling.stateDir, 'checkpoints');
  const temp = () => readdirSync(checkpoints).filter((name) => name.startsWith('.tmp-'));
  while (temp().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(temp().length, 1, 'the write is under way in a temporary directory');
  await stalling.kill();
  doomed.close();

  const restarted = await startDaemon({ dir: first.dir });
  t.teardown(() => restarted.kill());
  const after = await RpcClient.connect(restarted.socket);
  t.teardown(() => after.close());
  const list = await after.call('checkpoint.list');
  t.same(
    list.result.checkpoints.map((c: { id: string }) => c.id),
    [whole],
    'only the whole checkpoint lists',
  );
  const got = await after.call('checkpoint.get', { id: whole });
  t.equal(got.result?.checkpoint?.id, whole, 'the whole checkpoint still loads');
  t.same(temp(), [], 'the temporary directory was removed at start');
  t.ok(
    restarted.logs.some((l) => l.message === 'removed unfinished checkpoint write'),
    'the removal is logged',
  );
});
