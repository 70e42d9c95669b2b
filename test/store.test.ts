// The checkpoint store on its own: durable writes, private modes, leftovers removed at open,
// every kind of damaged image reported as IMAGE_CORRUPT.

import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { TtycrError } from '../rpc-schema/errors.js';
import type { Checkpoint } from '../rpc-schema/image.js';
import { silentLogger } from '../daemon/log.js';
import { CheckpointStore } from '../daemon/store/store.js';
import { encodeImage } from '../daemon/store/image.js';

function checkpointOf(id: string, uid = 0): Checkpoint {
  return {
    id,
    name: null,
    createdAt: new Date().toISOString(),
    uid,
    host: 'test',
    kernel: '6.1',
    options: { tree: false, freeze: false, data: false, kill: false },
    ttys: [],
    files: [],
    tasks: [{ pid: 42, ppid: 1, comm: 'sh', sid: 42, pgid: 42, ctty: null, cttyRdev: 0, fds: [] }],
  };
}

function tempState(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (err) {
    return err instanceof TtycrError ? `${err.reason}: ${err.message}` : String(err);
  }
}

t.test('store [save, load, list, delete]', async (t) => {
  const state = tempState(t);
  const store = await CheckpointStore.open(state);
  const id = await store.newId();
  t.match(id, /^\d{8}-\d{6}-[a-z0-9]{5}$/, 'ids are date, time and a random suffix');

  await store.save(checkpointOf(id));
  t.same((await store.load(id)).tasks[0]?.pid, 42, 'loads what it saved');
  t.equal(statSync(join(store.dir, id)).mode & 0o777, 0o700, 'checkpoint dir mode 0700');
  t.equal(statSync(join(store.dir, id, 'image.json')).mode & 0o777, 0o600, 'image mode 0600');
  t.equal(statSync(state).mode & 0o777, 0o700, 'state dir mode 0700');
  t.same(
    (await store.list()).map((e) => e.id),
    [id],
    'lists it',
  );
  t.equal(await store.count(), 1, 'counts it');

  t.match(await reasonOf(store.save(checkpointOf(id))), /^BUSY/, 'an id is never overwritten');
  await store.delete(id);
  t.match(await reasonOf(store.load(id)), /^NOT_FOUND/, 'deleted is NOT_FOUND');
  t.match(await reasonOf(store.delete(id)), /^NOT_FOUND/, 'deleting twice is NOT_FOUND');
  t.same(readdirSync(store.dir), [], 'nothing left on disk');
});

t.test('store [refuses an invalid checkpoint]', async (t) => {
  const store = await CheckpointStore.open(tempState(t));
  const bad = { ...checkpointOf('20250101-000000-aaaaa'), uid: -1 };
  t.match(
    await reasonOf(store.save(bad)),
    /^INVALID_IMAGE: invalid checkpoint: uid/,
    'zod on write',
  );
  t.same(readdirSync(store.dir), [], 'no temporary directory left');
});

t.test('store [leftovers removed at open]', async (t) => {
  const state = tempState(t);
  const dir = join(state, 'checkpoints');
  mkdirSync(join(dir, '.tmp-20250101-000000-aaaaa-xyz'), { recursive: true });
  writeFileSync(join(dir, '.tmp-20250101-000000-aaaaa-xyz', 'image.json'), '{"format":');
  await CheckpointStore.open(state);
  t.same(readdirSync(dir), [], 'temporary directories are gone');
});

t.test('store [damaged images]', async (t) => {
  const store = await CheckpointStore.open(tempState(t));
  const good = checkpointOf('20250101-000000-good0');
  await store.save(good);
  const text = encodeImage(checkpointOf('20250101-000000-bad00')).toString();

  const damage: [string, string, RegExp][] = [
    ['truncated', text.slice(0, 100), /not JSON/],
    ['empty', '', /not JSON/],
    ['edited', text.replace('"comm":"sh"', '"comm":"zsh"'), /checksum mismatch/],
    ['newer', text.replace('"version":1', '"version":2'), /version 2 is newer/],
    ['foreign', '{"format":"other","version":1}', /not an image file/],
    ['misfiled', encodeImage(checkpointOf('20250101-000000-other')).toString(), /holds checkpoint/],
  ];
  for (const [what, bytes, why] of damage) {
    const id = `20250101-000000-${what.slice(0, 5)}`;
    mkdirSync(join(store.dir, id));
    writeFileSync(join(store.dir, id, 'image.json'), bytes.replace('20250101-000000-bad00', id));
    t.match(await reasonOf(store.load(id)), /^IMAGE_CORRUPT/, `${what} [IMAGE_CORRUPT]`);
    t.match(await reasonOf(store.load(id)), why, `${what} [says why]`);
  }

  const listed = await store.list();
  t.same(
    listed.filter((e) => e.checkpoint).map((e) => e.id),
    [good.id],
    'the good one loads',
  );
  t.equal(listed.filter((e) => e.error).length, damage.length, 'the damaged ones carry errors');
});

t.test('store [directory sync fails after the rename]', async (t) => {
  const state = tempState(t);
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
  const checkpoints = join(state, 'checkpoints');
  const away = join(state, 'away');
  // With the store directory moved away, opening it for the fsync fails with ENOENT.
  const store = await CheckpointStore.open(state, {
    log,
    afterRename: async () => renameSync(checkpoints, away),
  });
  const id = await store.newId();

  t.equal(await reasonOf(store.save(checkpointOf(id))), 'no error', 'the save succeeds');
  t.same(warnings, ['checkpoint saved, store directory not synced'], 'a warning says so');
  renameSync(away, checkpoints);
  t.same((await store.load(id)).id, id, 'the checkpoint is stored');
  t.equal(await store.count(), 1, 'and counted');
});
