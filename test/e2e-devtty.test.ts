// A task that had /dev/tty open gets /dev/tty back at the same number, once `ttycr exec` has
// made the restored pts its controlling tty.

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

t.test('exec [/dev/tty fd reopened on the restored ctty]', async (t) => {
  const daemon = await startDaemon();
  const holder = await startHolder({ session: true, ptys: [{ ctty: 'devtty' }] });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
  });
  const devtty = holder.ptys[0]!.devtty;

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    String(holder.pid),
  ]);
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, [
    'restore',
    '--index-policy',
    'any',
    made.id,
  ]);
  const path = restore.ttys[0]!.path;

  const script = `readlink /proc/self/fd/${devtty}; ps -o tty= -p $$; echo hi >&${devtty}`;
  const run = await ttycr(daemon.socket, [
    'exec',
    restore.id,
    '--task',
    String(holder.pid),
    '--',
    'bash',
    '-c',
    script,
  ]);
  t.equal(run.code, 0, `exec exits 0: ${run.stderr}`);
  const [link, name] = run.stdout.trim().split('\n');
  t.equal(link, '/dev/tty', `fd ${devtty} is /dev/tty again`);
  t.equal(`/dev/${name}`, path, 'and the ctty it stands for is the restored pts');
});
