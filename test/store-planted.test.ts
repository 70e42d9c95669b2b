// Files planted in the store that save() never writes: a FIFO, a symlink or a huge file as a
// checkpoint's image.json or in place of its directory. Each is IMAGE_CORRUPT naming the path and
// what is wrong, without quoting the file's bytes; reading never waits on a FIFO nor reads a
// huge file whole; the other checkpoints still list and load, in the store and in the daemon.

import { execFileSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t, { type Test } from 'tap';

import { TtycrError } from '../rpc-schema/errors.js';
import type { Checkpoint } from '../rpc-schema/image.js';
import { encodeImage, MAX_IMAGE_BYTES } from '../daemon/store/image.js';
import { CheckpointStore } from '../daemon/store/store.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

function checkpointOf(id: string, tasks = 1): Checkpoint {
  return {
    id,
    name: null,
    createdAt: new Date().toISOString(),
    uid: 0,
    host: 'test',
    kernel: '6.1',
    options: { tree: false, freeze: false, data: false, kill: false },
    ttys: [],
    files: [],
    tasks: Array.from({ length: tasks }, (_, i) => ({
      pid: 42 + i,
      ppid: 1,
      comm: 'sh',
      sid: 42,
      pgid: 42,
      ctty: null,
      cttyRdev: 0,
      fds: [],
    })),
  };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-planted-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A FIFO at `path`. At teardown a writer opens and closes it, so that a reader that did block
 * on it (the bug this file tests for) gets EOF and the test process can exit.
 */
function mkfifo(t: Test, path: string): void {
  execFileSync('mkfifo', ['-m', '0600', path]);
  t.teardown(() => {
    try {
      closeSync(openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
    } catch {
      // ENXIO: no reader waits on it, as it should be.
    }
  });
}

/**
 * How `promise` settles, as `REASON: message`; or 'still waiting' if it has not after `ms`: a
 * read blocked on a FIFO never settles, and the test should say so rather than time out.
 */
async function outcome(promise: Promise<unknown>, ms = 5000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  const settled = promise.then(
    () => 'no error',
    (err: unknown) => (err instanceof TtycrError ? `${err.reason}: ${err.message}` : String(err)),
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The store with one good checkpoint, and the path of a checkpoint directory for `id`. */
async function storeWithGood(t: Test, options = {}) {
  const store = await CheckpointStore.open(tempDir(t), options);
  const good = checkpointOf('20250101-000000-good0');
  await store.save(good);
  return { store, good, dirOf: (id: string) => join(store.dir, id) };
}

t.test('planted [a FIFO as image.json]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const id = '20250101-000000-fifo0';
  mkdirSync(dirOf(id));
  mkfifo(t, join(dirOf(id), 'image.json'));

  const got = await outcome(store.load(id));
  t.match(got, /^IMAGE_CORRUPT: /, 'IMAGE_CORRUPT, at once');
  t.match(got, `${join(dirOf(id), 'image.json')} is a FIFO, not a regular file`, 'says what');
});

t.test('planted [a FIFO in place of the checkpoint directory]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const id = '20250101-000000-fifo1';
  mkfifo(t, dirOf(id));

  const got = await outcome(store.load(id));
  t.match(got, /^IMAGE_CORRUPT: /, 'IMAGE_CORRUPT');
  t.match(got, `${dirOf(id)} is a FIFO, not a checkpoint directory`, 'says what');
});

t.test('planted [a symlink as image.json]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const id = '20250101-000000-link0';
  // A valid image of this very id elsewhere: only the symlink is wrong.
  const elsewhere = join(tempDir(t), 'image.json');
  writeFileSync(elsewhere, encodeImage(checkpointOf(id)));
  mkdirSync(dirOf(id));
  symlinkSync(elsewhere, join(dirOf(id), 'image.json'));

  const got = await outcome(store.load(id));
  t.match(got, /^IMAGE_CORRUPT: /, 'IMAGE_CORRUPT');
  t.match(got, `${join(dirOf(id), 'image.json')} is a symlink, not an image file`, 'says what');
});

t.test('planted [a symlink in place of the checkpoint directory]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const id = '20250101-000000-link1';
  const elsewhere = tempDir(t);
  writeFileSync(join(elsewhere, 'image.json'), encodeImage(checkpointOf(id)));
  symlinkSync(elsewhere, dirOf(id));

  const got = await outcome(store.load(id));
  t.match(got, /^IMAGE_CORRUPT: /, 'IMAGE_CORRUPT');
  t.match(got, `${dirOf(id)} is a symlink, not a checkpoint directory`, 'says what');
});

t.test('planted [a file over the default size limit is not read]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const id = '20250101-000000-huge0';
  mkdirSync(dirOf(id));
  // Sparse: it costs the disk nothing, and reading it would cost the daemon 128 MiB and more.
  const path = join(dirOf(id), 'image.json');
  writeFileSync(path, '');
  truncateSync(path, MAX_IMAGE_BYTES + 1);

  const got = await outcome(store.load(id));
  t.match(got, /^IMAGE_CORRUPT: /, 'IMAGE_CORRUPT');
  t.match(got, `${path} is ${MAX_IMAGE_BYTES + 1} bytes, over the ${MAX_IMAGE_BYTES}`, 'says why');
});

t.test('planted [maxImageBytes bounds both save and load]', async (t) => {
  const { store, dirOf } = await storeWithGood(t, { maxImageBytes: 4096 });
  const big = checkpointOf('20250101-000000-big00', 100);
  t.ok(encodeImage(big).length > 4096, 'the image is over the limit');

  t.match(await outcome(store.save(big)), /^LIMIT_EXCEEDED: .* is over the 4096 bytes/, 'save');
  t.same(readdirSync(store.dir), ['20250101-000000-good0'], 'nothing else left on disk');

  mkdirSync(dirOf(big.id));
  writeFileSync(join(dirOf(big.id), 'image.json'), encodeImage(big));
  t.match(await outcome(store.load(big.id)), /^IMAGE_CORRUPT: .* over the 4096/, 'load');
});

t.test('planted [messages never quote the file]', async (t) => {
  const { store, dirOf } = await storeWithGood(t);
  const contents = [
    'SECRET-SECRET-SECRET',
    '{"format":"ttycr-image","SECRET":1,SECRET}',
    '{"format":"SECRET","version":"SECRET","checksum":"SECRET"}',
    '["SECRET',
  ];
  for (const [i, text] of contents.entries()) {
    const id = `20250101-000000-text${i}`;
    mkdirSync(dirOf(id));
    writeFileSync(join(dirOf(id), 'image.json'), text);
    const got = await outcome(store.load(id));
    t.match(got, /^IMAGE_CORRUPT: /, `${i}: IMAGE_CORRUPT`);
    t.match(got, join(dirOf(id), 'image.json'), `${i}: names the file`);
    t.notMatch(got, /SECRET/, `${i}: does not quote it: ${got}`);
  }
});

t.test('planted [list goes on past every kind]', async (t) => {
  const { store, good, dirOf } = await storeWithGood(t);
  mkdirSync(dirOf('20250101-000000-fifo0'));
  mkfifo(t, join(dirOf('20250101-000000-fifo0'), 'image.json'));
  mkfifo(t, dirOf('20250101-000000-fifo1'));
  symlinkSync(tempDir(t), dirOf('20250101-000000-link1'));
  mkdirSync(dirOf('20250101-000000-huge0'));
  writeFileSync(join(dirOf('20250101-000000-huge0'), 'image.json'), '');
  truncateSync(join(dirOf('20250101-000000-huge0'), 'image.json'), MAX_IMAGE_BYTES + 1);

  let listed: Awaited<ReturnType<CheckpointStore['list']>> = [];
  t.equal(
    await outcome(store.list().then((entries) => (listed = entries))),
    'no error',
    'list settles',
  );
  t.same(
    listed.filter((e) => e.checkpoint).map((e) => e.id),
    [good.id],
    'the good one loads',
  );
  t.same(
    listed.filter((e) => e.error).map((e) => e.error?.reason),
    ['IMAGE_CORRUPT', 'IMAGE_CORRUPT', 'IMAGE_CORRUPT', 'IMAGE_CORRUPT'],
    'each planted one carries IMAGE_CORRUPT',
  );
});

t.test('planted [the daemon answers around them and keeps running]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const dir = join(daemon.stateDir, 'checkpoints');
  const good = checkpointOf('20250101-000000-good0');
  mkdirSync(join(dir, good.id), { mode: 0o700 });
  writeFileSync(join(dir, good.id, 'image.json'), encodeImage(good), { mode: 0o600 });
  const fifo = '20250101-000000-fifo0';
  mkdirSync(join(dir, fifo));
  mkfifo(t, join(dir, fifo, 'image.json'));
  const link = '20250101-000000-link1';
  symlinkSync(join(dir, good.id), join(dir, link));

  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const timed = <T>(promise: Promise<T>) =>
    outcome(promise).then((how) => (how === 'no error' ? promise : Promise.reject(new Error(how))));

  const list = await timed(client.call('checkpoint.list'));
  t.same(
    list.result?.checkpoints.map((c: { id: string }) => c.id),
    [good.id],
    'checkpoint.list has the good one',
  );
  for (const id of [fifo, link]) {
    const got = await timed(client.call('checkpoint.get', { id }));
    t.equal(got.error?.data?.reason, 'IMAGE_CORRUPT', `checkpoint.get ${id} [IMAGE_CORRUPT]`);
  }
  const loaded = await timed(client.call('checkpoint.get', { id: good.id }));
  t.equal(loaded.result?.checkpoint?.id, good.id, 'the good one still loads');
  const status = await timed(client.call('daemon.status'));
  t.equal(status.result?.pid, daemon.pid, 'daemon.status still answers');
  t.equal(daemon.proc.exitCode, null, 'the daemon is running');
});
