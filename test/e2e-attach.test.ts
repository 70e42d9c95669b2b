// `ttycr attach` through the CLI: a shell runs on a restored terminal, the console master is
// joined to the CLI's stdin and stdout, and Ctrl-] detaches.

import { existsSync } from 'node:fs';

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { startTmuxShell, startTtycr, ttycrJson, waitFor } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

t.test('attach [type into a restored shell, read its answer, detach]', async (t) => {
  const daemon = await startDaemon();
  const shell = startTmuxShell(80, 24);
  t.teardown(async () => {
    shell.kill();
    await daemon.cleanup();
  });
  const pts = await shell.capture('tty', `${daemon.dir}/tty`);

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    String(shell.pid),
  ]);
  await waitFor(`${pts.trim()} to be free`, () => !existsSync(pts.trim()));
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, ['restore', made.id]);

  const bash = startTtycr(daemon.socket, [
    'exec',
    restore.id,
    '--task',
    String(shell.pid),
    '--',
    'bash',
    '--norc',
    '--noediting',
    '-i',
  ]);
  bash.proc.stdin!.end();
  t.teardown(() => void bash.proc.kill());

  const attach = startTtycr(daemon.socket, ['attach', restore.id, '--task', '0']);
  attach.proc.stdin!.write('echo attached-$((40 + 2))\n');
  await waitFor('the answer', () => attach.output().stdout.includes('attached-42'));
  attach.proc.stdin!.write('\x1d');

  const run = await attach.done;
  t.equal(run.code, 0, 'attach exits 0 on the detach key');
  t.match(run.stdout, 'attached-42\r\n', "the shell's output comes back through the master");
  t.match(run.stderr, 'ttycr: detached', 'it says it detached');

  // The master closed with attach: the shell on the pts is hung up and exits.
  const exec = await bash.done;
  t.not(exec.code, null, 'the shell ends once its terminal is gone');
});
