// Failures through the CLI: each gets its documented exit code and one stderr line with the
// reason word and what to do (README "Exit codes").

import { spawn } from 'node:child_process';
import { join } from 'node:path';

import t, { type Test } from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

const NOBODY = { uid: 65534, gid: 65534 };

let daemon: TestDaemon;
t.before(async () => {
  // The socket's group is nobody's, so that nobody reaches the daemon and is refused by it.
  daemon = await startDaemon({ args: ['--group', String(NOBODY.gid)] });
});
t.teardown(() => daemon.cleanup());

/** The one stderr line must start with the reason word. */
function oneLine(t: Test, stderr: string, reason: string): void {
  t.equal(stderr.trimEnd().split('\n').length, 1, `${reason}: one line on stderr`);
  t.match(stderr, new RegExp(`^ttycr: ${reason}: .+\\(.+\\)\\n$`), `${reason}: reason and advice`);
}

t.test('errors [wrong id]', async (t) => {
  const show = await ttycr(daemon.socket, ['show', 'no-such-checkpoint']);
  t.equal(show.code, 1, 'show exits 1');
  oneLine(t, show.stderr, 'NOT_FOUND');
  t.match(show.stderr, 'no-such-checkpoint', 'the message names the id');

  const exec = await ttycr(daemon.socket, ['exec', 'r-nope', '--task', '1', '--', 'true']);
  t.equal(exec.code, 1, 'exec of an unknown restore exits 1');
  oneLine(t, exec.stderr, 'NOT_FOUND');
});

t.test('errors [dead pid]', async (t) => {
  const gone = spawn('true');
  await new Promise((resolve) => gone.once('exit', resolve));

  const run = await ttycr(daemon.socket, ['checkpoint', String(gone.pid)]);
  t.equal(run.code, 1, 'checkpoint of a dead pid exits 1');
  oneLine(t, run.stderr, 'NO_SUCH_PROCESS');
  t.equal(run.stdout, '', 'nothing on stdout');
});

t.test('errors [daemon not running]', async (t) => {
  const missing = await ttycr(join(daemon.dir, 'none.sock'), ['status']);
  t.equal(missing.code, 69, 'no socket: exit 69');
  oneLine(t, missing.stderr, 'UNAVAILABLE');
  t.match(missing.stderr, 'ENOENT', 'says why');

  // A daemon killed outright leaves its socket file with nobody listening on it.
  const dead = await startDaemon();
  await dead.kill();
  const refused = await ttycr(dead.socket, ['--json', 'list']);
  await dead.cleanup();
  t.equal(refused.code, 69, 'a socket nobody listens on: exit 69');
  t.match(refused.stderr, /^ttycr: UNAVAILABLE: .*ECONNREFUSED/, 'says why');
  t.match(
    JSON.parse(refused.stdout),
    { error: { reason: 'UNAVAILABLE', message: /ECONNREFUSED/ } },
    '--json prints the error as its one document',
  );
});

t.test('errors [claim twice]', async (t) => {
  // Two tasks, so that the restore stays while the second one is unclaimed.
  const holder = await startHolder({ ptys: [{}], child: [[0, 'master']], childOnly: true });
  t.teardown(() => holder.kill());
  const pids = [String(holder.pid), String(holder.child)];
  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    ...pids,
  ]);
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, [
    'restore',
    '--index-policy',
    'any',
    made.id,
  ]);
  t.teardown(() => ttycr(daemon.socket, ['cancel', restore.id]));

  const exec = ['exec', restore.id, '--task', String(holder.pid), '--', 'true'];
  const first = await ttycr(daemon.socket, exec);
  t.equal(first.code, 0, `the first claim runs the command: ${first.stderr}`);
  const second = await ttycr(daemon.socket, exec);
  t.equal(second.code, 1, 'the second claim exits 1');
  oneLine(t, second.stderr, 'ALREADY_CLAIMED');
});

t.test('errors [usage]', async (t) => {
  const noPid = await ttycr(daemon.socket, ['checkpoint']);
  t.equal(noPid.code, 2, 'a missing argument: exit 2');

  const badPid = await ttycr(daemon.socket, ['checkpoint', 'abc']);
  t.equal(badPid.code, 2, 'a pid that is not a number: exit 2');
  oneLine(t, badPid.stderr, 'USAGE');

  const badPolicy = await ttycr(daemon.socket, ['restore', 'x', '--index-policy', 'near']);
  t.equal(badPolicy.code, 2, 'an unknown choice: exit 2');
});

t.test('errors [not permitted]', async (t) => {
  const run = await ttycr(daemon.socket, ['checkpoint', String(daemon.pid)], { user: NOBODY });
  t.equal(run.code, 77, "nobody checkpointing root's daemon: exit 77");
  oneLine(t, run.stderr, 'PERMISSION_DENIED');
});
