// Damaged images on disk: truncated, edited (checksum mismatch) and from a newer format each
// give IMAGE_CORRUPT saying why, while the good checkpoint still lists and loads.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('corrupt images [IMAGE_CORRUPT, others still load]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    ids.push((await client.call('checkpoint.create', { pids: [holder.pid] })).result.id);
  }
  const [good, truncated, edited, newer] = ids as [string, string, string, string];
  const image = (id: string) => join(daemon.stateDir, 'checkpoints', id, 'image.json');
  const text = (id: string) => readFileSync(image(id), 'utf8');

  writeFileSync(image(truncated), text(truncated).slice(0, 200));
  writeFileSync(image(edited), text(edited).replace('"name":null', '"name":"evil"'));
  writeFileSync(image(newer), text(newer).replace('"version":1', '"version":99'));

  const expectations: [string, RegExp][] = [
    [truncated, /not JSON/],
    [edited, /checksum mismatch/],
    [newer, /version 99 is newer/],
  ];
  for (const [id, why] of expectations) {
    const got = await client.call('checkpoint.get', { id });
    t.equal(got.error?.data?.reason, 'IMAGE_CORRUPT', `checkpoint.get [${why.source}]`);
    t.match(got.error?.message, why, `checkpoint.get [says ${why.source}]`);
  }
  const restore = await client.call('restore.start', { id: edited, indexPolicy: 'any' });
  t.equal(restore.error?.data?.reason, 'IMAGE_CORRUPT', 'restore.start [refuses a corrupt image]');

  const list = await client.call('checkpoint.list');
  t.same(
    list.result.checkpoints.map((c: { id: string }) => c.id),
    [good],
    'checkpoint.list',
  );
  const loaded = await client.call('checkpoint.get', { id: good });
  t.equal(loaded.result?.checkpoint?.id, good, 'the good checkpoint still loads');
  const deleted = await client.call('checkpoint.delete', { id: truncated });
  t.equal(deleted.result?.deleted, true, 'root may delete a corrupt image');
});
