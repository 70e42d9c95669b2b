// Who may do what, over the real socket: a client running as `nobody` (setpriv) is refused
// root's processes, checkpoints and restores, and may checkpoint, restore and claim its own.

import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import t from 'tap';

import { closeQuietly } from '../daemon/sys/fd.js';
import { startHolder } from './helpers/holder.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

const run = promisify(execFile);
const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Sends each request as `nobody` on one connection; the replies by id, with fd counts. */
async function callAsNobody(socket: string, ...requests: [string, unknown][]) {
  const lines = requests.map(([method, params], i) =>
    JSON.stringify({ jsonrpc: '2.0', id: i + 1, method, params }),
  );
  const args = [...asNobody, process.execPath, ...process.execArgv, fixture('rpc-call.ts')];
  const { stdout } = await run('setpriv', [...args, socket, ...lines]);
  const replies = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return requests.map((_, i) => replies.find((r) => r.id === i + 1));
}

t.test('access [nobody against root]', async (t) => {
  const daemon = await startDaemon({ args: ['--group', 'nogroup'] });
  t.teardown(() => daemon.cleanup());
  const root = await RpcClient.connect(daemon.socket);
  t.teardown(() => root.close());
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const id = (await root.call('checkpoint.create', { pids: [holder.pid] })).result.id;
  const restore = (await root.call('restore.start', { id, indexPolicy: 'any' })).result.id;

  const [claim, restores, checkpoints, get, del, cancel, create, status] = await callAsNobody(
    daemon.socket,
    ['restore.claim', { id: restore, task: holder.pid }],
    ['restore.list', {}],
    ['checkpoint.list', {}],
    ['checkpoint.get', { id }],
    ['checkpoint.delete', { id }],
    ['restore.cancel', { id: restore }],
    ['checkpoint.create', { pids: [holder.pid] }],
    ['daemon.status', {}],
  );
  // Anything the caller may not see is answered as if it did not exist: no id is confirmed.
  t.equal(claim.error?.data?.reason, 'NOT_FOUND', "claim [another uid's restore not found]");
  t.equal(claim.fdCount, 0, 'claim [no fds to another uid]');
  t.same(restores.result.restores, [], "restore.list [root's hidden]");
  t.same(checkpoints.result.checkpoints, [], "checkpoint.list [root's hidden]");
  t.equal(get.error?.data?.reason, 'NOT_FOUND', "checkpoint.get [root's is not found]");
  t.equal(del.error?.data?.reason, 'NOT_FOUND', "checkpoint.delete [root's is not found]");
  t.notMatch(del.error?.message, /uid/, 'checkpoint.delete [names no uid]');
  t.equal(cancel.error?.data?.reason, 'NOT_FOUND', "restore.cancel [root's is not found]");
  t.equal(create.error?.data?.reason, 'PERMISSION_DENIED', "checkpoint.create [root's process]");
  t.equal(status.result.checkpoints, 0, "daemon.status [root's checkpoints not counted]");
  t.equal(status.result.restores, 0, "daemon.status [root's restores not counted]");
  t.equal(status.result.pendingFds, 0, "daemon.status [root's fds not counted]");

  const still = await root.call('restore.claim', { id: restore, task: holder.pid });
  t.ok(still.fds.length > 0, 'the owner can still claim');
  for (const fd of still.fds) closeQuietly(fd);
});

t.test('access [nobody with its own process]', async (t) => {
  const daemon = await startDaemon({ args: ['--group', 'nogroup'] });
  t.teardown(() => daemon.cleanup());
  const root = await RpcClient.connect(daemon.socket);
  t.teardown(() => root.close());

  const args = [...asNobody, process.execPath, ...process.execArgv, fixture('holder.ts')];
  const proc = spawn('setpriv', [...args, JSON.stringify({ ptys: [{}] })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  t.teardown(async () => {
    proc.kill('SIGKILL');
    await exited;
  });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: proc.stdout! }).once('line', resolve),
  );
  const pid = JSON.parse(line).pid as number;

  const [create] = await callAsNobody(daemon.socket, ['checkpoint.create', { pids: [pid] }]);
  t.notOk(create.error, 'checkpoint.create [own dumpable process]', { error: create.error });
  const id = create.result.id;

  const [start] = await callAsNobody(daemon.socket, ['restore.start', { id, indexPolicy: 'any' }]);
  t.equal(start.result?.uid, 65534, 'restore.start [owned by nobody]');
  const [claim] = await callAsNobody(daemon.socket, [
    'restore.claim',
    { id: start.result.id, task: pid },
  ]);
  t.equal(claim.fdCount, claim.result?.fds?.length, 'claim [own fds arrive]');

  const seen = await root.call('checkpoint.list');
  t.equal(seen.result.checkpoints[0]?.uid, 65534, "root sees nobody's checkpoint");
});
