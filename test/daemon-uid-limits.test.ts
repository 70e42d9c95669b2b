// What one uid may hold: the ptys of its pending restores are capped for anyone but root, and
// a refused restore never takes a pty; a restore claimed in full says so to a late claim.

import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import t, { type Test } from 'tap';

import { closeQuietly } from '../daemon/sys/fd.js';
import { getPtyIndex, openPtmx } from '../daemon/sys/pty.js';
import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { ptyCount } from './helpers/transport.js';

const run = promisify(execFile);
const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
const rpcCall = fileURLToPath(new URL('./fixtures/rpc-call.ts', import.meta.url));

async function callAsNobody(socket: string, method: string, params: unknown) {
  const line = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  const args = [...asNobody, process.execPath, ...process.execArgv, rpcCall, socket, line];
  const { stdout } = await run('setpriv', args);
  return JSON.parse(stdout.trim().split('\n')[0]!);
}

/** A daemon started with `args`, a root client, and root's checkpoint of `ptys` ptys. */
async function withRootImage(t: Test, args: string[], ptys: number) {
  const daemon = await startDaemon({ args: ['--group', 'nogroup', ...args] });
  t.teardown(() => daemon.cleanup());
  const root = await RpcClient.connect(daemon.socket);
  t.teardown(() => root.close());
  const holder = await startHolder({ ptys: Array.from({ length: ptys }, () => ({})) });
  t.teardown(() => holder.kill());
  const made = (await root.call('checkpoint.create', { pids: [holder.pid] })).result.id as string;
  const image = (await root.call('checkpoint.get', { id: made })).result.checkpoint;
  return { daemon, root, holder, made, image };
}

t.test('limits [ptys per uid]', async (t) => {
  const { daemon, root, made, image } = await withRootImage(t, ['--max-ptys-per-uid', '4'], 3);

  // nobody's own copy of a checkpoint of three ptys.
  const imported = await root.call('checkpoint.import', { checkpoint: { ...image, uid: 65534 } });
  const id = imported.result.id as string;

  const first = await callAsNobody(daemon.socket, 'restore.start', { id, indexPolicy: 'any' });
  t.notOk(first.error, 'the first restore fits', { error: first.error });
  const before = ptyCount();
  const started = () => daemon.logs.filter((l) => l.message === 'restore started').length;
  const startedBefore = started();
  const second = await callAsNobody(daemon.socket, 'restore.start', { id, indexPolicy: 'any' });
  t.equal(second.error?.data?.reason, 'LIMIT_EXCEEDED', 'three more ptys do not');
  t.equal(second.error?.data?.limit, 'ptys-per-uid', 'the error names the limit');
  t.match(second.error?.message, /holds 3 ptys .* limit of 4/, 'and the counts');
  t.equal(ptyCount(), before, 'the refused restore holds no pty');
  t.equal(started(), startedBefore, 'it was refused before the engine ran, so it took none');

  const status = (await root.call('daemon.status')).result;
  t.equal(status.limits.maxPtysPerUid, 4, 'daemon.status shows the pty cap');
  t.equal(status.limits.maxRestoresPerUid, 64, 'and the restore cap');

  for (let i = 0; i < 2; i++) {
    const started = await root.call('restore.start', { id: made, indexPolicy: 'any' });
    t.notOk(started.error, `root is not capped (restore ${i + 1})`, { error: started.error });
  }

  const cancelled = await callAsNobody(daemon.socket, 'restore.cancel', { id: first.result.id });
  t.ok(cancelled.result?.closed > 0, 'cancel gives the ptys back');
  const again = await callAsNobody(daemon.socket, 'restore.start', { id, indexPolicy: 'any' });
  t.notOk(again.error, 'and the next restore fits', { error: again.error });
});

t.test('claim [a restore claimed in full]', async (t) => {
  const { root: client, holder, made: id } = await withRootImage(t, [], 1);
  const restore = (await client.call('restore.start', { id, indexPolicy: 'any' })).result.id;
  const first = await client.call('restore.claim', { id: restore, task: holder.pid });
  for (const fd of first.fds) closeQuietly(fd);
  t.equal((await client.call('restore.list')).result.restores.length, 0, 'it is no longer pending');

  const late = await client.call('restore.claim', { id: restore, task: holder.pid });
  t.equal(late.error?.data?.reason, 'ALREADY_CLAIMED', 'a late claim is told it was claimed');
  t.equal(late.fds.length, 0, 'and gets no fds');
});

t.test('limits [checkpoints per uid]', async (t) => {
  const { daemon, root, image } = await withRootImage(t, ['--max-checkpoints-per-uid', '2'], 1);
  const importAsNobody = () =>
    callAsNobody(daemon.socket, 'checkpoint.import', { checkpoint: image });

  const first = await importAsNobody();
  const second = await importAsNobody();
  t.ok(first.result?.id && second.result?.id, 'nobody may keep two', { first, second });
  const third = await importAsNobody();
  t.equal(third.error?.data?.reason, 'LIMIT_EXCEEDED', 'not a third');
  t.equal(third.error?.data?.limit, 'checkpoints-per-uid', 'the error names the limit');
  t.match(third.error?.message, /uid 65534 has 2 checkpoints, .*\(2\): delete some/, 'and says');

  const status = await callAsNobody(daemon.socket, 'daemon.status', {});
  t.equal(status.result?.checkpoints, 2, "daemon.status counts nobody's own");
  for (let i = 0; i < 3; i++) {
    const imported = await root.call('checkpoint.import', { checkpoint: image });
    t.notOk(imported.error, `root is not capped (import ${i + 1})`, { error: imported.error });
  }

  await callAsNobody(daemon.socket, 'checkpoint.delete', { id: first.result.id });
  const again = await importAsNobody();
  t.ok(again.result?.id, 'once one is deleted there is room again', { again });
});

t.test('limits [the ptys held to reach an index count too]', async (t) => {
  const { daemon, root, image } = await withRootImage(t, ['--max-ptys-per-uid', '4'], 1);
  // Ten indices above the lowest free one: getting there holds ten ptys below it for a moment.
  const probe = openPtmx('/dev/ptmx');
  const lowest = getPtyIndex(probe);
  closeQuietly(probe);
  const far = { ...image, uid: 65534, ttys: [{ ...image.ttys[0], index: lowest + 10 }] };
  const id = (await root.call('checkpoint.import', { checkpoint: far })).result.id;

  const before = ptyCount();
  const refused = await callAsNobody(daemon.socket, 'restore.start', { id });
  t.equal(refused.error?.data?.reason, 'LIMIT_EXCEEDED', 'nobody may not take ten ptys to get one');
  t.equal(refused.error?.data?.limit, 'ptys-per-uid', 'the error names the limit');
  t.match(refused.error?.message, /more than the 4 ptys this caller may hold/, 'and the cap');
  t.equal(ptyCount(), before, 'every pty it opened is closed again');

  const started = await root.call('restore.start', { id });
  t.notOk(started.error, 'root may', { error: started.error });
  t.equal(started.result?.ttys[0]?.newIndex, lowest + 10, 'at that index');
});

t.test('limits [one uid cannot take every connection]', async (t) => {
  // 4 connections: one uid but root 2 of them (under 16, none is kept for root alone).
  const daemon = await startDaemon({ args: ['--group', 'nogroup', '--max-connections', '4'] });
  t.teardown(() => daemon.cleanup());
  const root = await RpcClient.connect(daemon.socket);
  t.teardown(() => root.close());
  const open = async () => (await root.call('daemon.status')).result.connections as number;

  // Two connections held open as nobody: socat waits on its stdin.
  for (let i = 0; i < 2; i++) {
    const socat = spawn('setpriv', [...asNobody, 'socat', '-', `UNIX-CONNECT:${daemon.socket}`]);
    t.teardown(() => socat.kill());
  }
  for (let waited = 0; (await open()) < 3 && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.equal(await open(), 3, "root's and nobody's two are open");

  const third = await callAsNobody(daemon.socket, 'daemon.status', {});
  t.equal(third.error?.data?.reason, 'LIMIT_EXCEEDED', "nobody's third is refused");
  t.equal(third.error?.data?.limit, 'too-many-connections', 'as too many connections');
  const second = await RpcClient.connect(daemon.socket);
  t.teardown(() => second.close());
  t.equal((await second.call('daemon.status')).result?.connections, 4, 'while root gets in');
});
