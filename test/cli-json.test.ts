// --json prints exactly one JSON document on stdout, whatever happens: a command's result, the
// result of an exec'd command once it ended, or the error, with the same exit code as without.

import { join } from 'node:path';

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

let daemon: TestDaemon;
t.before(async () => {
  daemon = await startDaemon();
});
t.teardown(() => daemon.cleanup());

/** The one document on stdout, parsed. */
function document(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

t.test('json [an error from the daemon]', async (t) => {
  const run = await ttycr(daemon.socket, ['--json', 'show', 'no-such-checkpoint']);
  t.equal(run.code, 1, 'exits 1 as without --json');
  t.match(
    document(run.stdout),
    { error: { reason: 'NOT_FOUND', message: /no-such-checkpoint/ } },
    'stdout is the error: reason and message',
  );
  t.match(run.stderr, /^ttycr: NOT_FOUND: /, 'stderr still has the line for people');
});

t.test('json [no daemon]', async (t) => {
  const run = await ttycr(join(daemon.dir, 'none.sock'), ['--json', 'status']);
  t.equal(run.code, 69, 'exits 69 as without --json');
  t.match(
    document(run.stdout),
    { error: { reason: 'UNAVAILABLE', message: /ENOENT/ } },
    'stdout is the error',
  );
});

t.test('json [usage errors]', async (t) => {
  const bad = await ttycr(daemon.socket, ['--json', 'checkpoint', 'abc']);
  t.equal(bad.code, 2, 'a bad pid exits 2');
  t.match(document(bad.stdout), { error: { reason: 'USAGE', message: /abc/ } }, 'a USAGE error');

  const unknown = await ttycr(daemon.socket, ['--json', 'list', '--no-such-option']);
  t.equal(unknown.code, 2, 'an unknown option exits 2');
  t.match(
    document(unknown.stdout),
    { error: { reason: 'USAGE', message: /no-such-option/ } },
    'a USAGE error naming the option',
  );

  const plain = await ttycr(daemon.socket, ['list', '--no-such-option']);
  t.equal(
    plain.stderr,
    "ttycr: USAGE: unknown option '--no-such-option' (see ttycr --help)\n",
    'without --json, one line on stderr in the form of every other error',
  );
});

t.test('json [exec prints its result once the command ended]', async (t) => {
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());
  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    String(holder.pid),
  ]);
  // Another index is fine here: the test is about what exec prints.
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, [
    'restore',
    made.id,
    '--index-policy',
    'any',
  ]);
  t.teardown(() => ttycr(daemon.socket, ['cancel', restore.id]));

  const task = String(holder.pid);
  const run = await ttycr(daemon.socket, [
    '--json',
    'exec',
    restore.id,
    '--task',
    task,
    '--',
    'sh',
    '-c',
    'exit 3',
  ]);
  t.equal(run.code, 3, "exits with the command's status");
  t.match(
    document(run.stdout),
    { restore: restore.id, task: holder.pid, exitCode: 3, signal: null },
    'stdout is the result: task and exit code',
  );
});
