// A --ptmx that is no ptmx is a bad argument: exit 2 with the path and what it is, an invalid
// params reply naming the parameter, and an info line in the daemon's log, not an error.

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { RpcClient, startDaemon, type TestDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

let daemon: TestDaemon;
let id: string;
t.before(async () => {
  daemon = await startDaemon();
  const holder = await startHolder({ ptys: [{}] });
  try {
    id = (
      await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, ['checkpoint', `${holder.pid}`])
    ).id;
  } finally {
    await holder.kill();
  }
});
t.teardown(() => daemon.cleanup());

/** The log lines of failed requests that came after `since` lines. */
function failures(since: number) {
  return daemon.logs.slice(since).filter((entry) => entry.message === 'request failed');
}

t.test('restore --ptmx [a device that is not a ptmx]', async (t) => {
  const since = daemon.logs.length;
  const run = await ttycr(daemon.socket, ['restore', id, '--ptmx', '/dev/null']);
  t.equal(run.code, 2, 'a bad argument: exit 2');
  t.match(
    run.stderr,
    /^ttycr: INVALID_REQUEST: .*ptmx \/dev\/null is not a ptmx \(char 1:3, want char 5:2\) \(see --help\)\n$/,
    'one line naming the path, what it is and what a ptmx is',
  );
  t.notMatch(run.stderr, /image/, 'nothing about the image');
  t.match(
    failures(since),
    [{ level: 'info', reason: 'INVALID_PARAMS', param: 'ptmx' }],
    'logged once, at info',
  );
});

t.test('restore --ptmx [a path that does not exist]', async (t) => {
  const since = daemon.logs.length;
  const run = await ttycr(daemon.socket, ['restore', id, '--ptmx', '/nonexistent/ptmx']);
  t.equal(run.code, 2, 'a bad argument: exit 2');
  t.match(
    run.stderr,
    /^ttycr: INVALID_REQUEST: .*ptmx \/nonexistent\/ptmx: open \/nonexistent\/ptmx: ENOENT/,
    'names the path, the call and the errno',
  );
  t.match(
    failures(since),
    [{ level: 'info', reason: 'INVALID_PARAMS', param: 'ptmx' }],
    'logged once, at info',
  );
  t.notOk(
    daemon.logs.slice(since).some((entry) => entry.level === 'error'),
    "the caller's mistake is not logged as an error",
  );
});

t.test('restore.start ptmx [over the socket: invalid params with the parameter]', async (t) => {
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());

  const dir = await client.call('restore.start', { id, ptmx: '/tmp' });
  t.match(
    dir.error,
    {
      code: -32602,
      message: /ptmx \/tmp is not a ptmx \(directory, want char 5:2\)/,
      data: { param: 'ptmx', path: '/tmp' },
    },
    'a directory: -32602 naming the parameter and what the path is',
  );
  t.notOk(dir.error?.data?.reason, 'no reason word: this is not an application failure');

  const missing = await client.call('restore.start', { id, ptmx: '/nonexistent' });
  t.match(
    missing.error,
    {
      code: -32602,
      data: { param: 'ptmx', path: '/nonexistent', errno: 'ENOENT' },
    },
    'a missing path: -32602 with its errno',
  );

  const inRoot = await client.call('restore.start', {
    id,
    ptmx: `/proc/${process.pid}/root/nonexistent/ptmx`,
  });
  t.match(
    inRoot.error,
    {
      code: -32602,
      message: /ptmx \/proc\/\d+\/root\/nonexistent\/ptmx: openat2 nonexistent\/ptmx: ENOENT/,
      data: { param: 'ptmx', errno: 'ENOENT' },
    },
    "a path missing in a task's root: the same",
  );
  t.equal((await client.call('daemon.status')).error, undefined, 'the connection still works');
});
