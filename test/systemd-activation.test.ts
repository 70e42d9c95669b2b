// Socket activation as systemd does it, through systemd-socket-activate: the socket exists
// before ttycrd does, ttycrd starts on the first connection with the socket at fd 3 and serves
// that connection and the ones after it, then stops cleanly on SIGTERM.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { methods } from '../rpc-schema/methods.js';
import { RpcClient } from './helpers/daemon.js';

const mainTs = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

t.test('socket activation [the passed socket serves]', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-activation-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'ttycrd.sock');

  // The daemon's flags name a different socket path on purpose: a daemon that ignored the
  // passed fd and listened itself would not be reachable at `socket`.
  const daemonArgs = ['--socket', join(dir, 'unused.sock'), '--state-dir', join(dir, 'state')];
  const activator = spawn(
    'systemd-socket-activate',
    [
      '--listen',
      socket,
      '--fdname=ttycrd.socket',
      // No NOTIFY_SOCKET or JOURNAL_STREAM from a test runner that runs under systemd.
      '--setenv=NOTIFY_SOCKET=',
      '--setenv=JOURNAL_STREAM=',
      // It passes on no other variable unless told; the test's environment carries the
      // TypeScript loader's settings (transpile only, the project), as startDaemon passes it.
      ...Object.keys(process.env)
        .filter((name) => !/^(LISTEN_|NOTIFY_SOCKET$|JOURNAL_STREAM$|WATCHDOG_)/.test(name))
        .map((name) => `--setenv=${name}`),
      process.execPath,
      ...process.execArgv,
      mainTs,
      ...daemonArgs,
      '--log-format',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => activator.once('exit', resolve));
  t.teardown(async () => {
    if (activator.exitCode === null && activator.signalCode === null) activator.kill('SIGKILL');
    await exited;
  });

  const logs: Record<string, unknown>[] = [];
  createInterface({ input: activator.stdout! }).on('line', (line) => {
    logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  // systemd-socket-activate says on stderr when it listens; only then may a client connect.
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: activator.stderr! }).on('line', (line) => {
      if (line.startsWith('Listening on')) resolve();
    });
    void exited.then((code) => reject(new Error(`systemd-socket-activate exited with ${code}`)));
  });
  t.same(logs, [], 'no daemon before the first connection');

  const first = await RpcClient.connect(socket);
  t.teardown(() => first.close());
  const status = await first.call('daemon.status');
  t.notOk(status.error, 'daemon.status [no error]');
  t.ok(methods['daemon.status'].result.safeParse(status.result).success, 'daemon.status [schema]');
  // systemd-socket-activate execs the program, so the daemon keeps the activator's pid.
  t.equal(status.result?.pid, activator.pid, 'the activated daemon answers');

  const adopted = logs.find((entry) => entry.message === 'socket from systemd');
  t.same(
    adopted && { fd: adopted.fd, name: adopted.name },
    { fd: 3, name: 'ttycrd.socket' },
    'the socket came as fd 3 with its LISTEN_FDNAMES name',
  );

  const second = await RpcClient.connect(socket);
  t.teardown(() => second.close());
  const again = await second.call('daemon.status');
  t.equal(again.result?.connections, 2, 'a second connection is served too');

  first.close();
  second.close();
  activator.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops it cleanly');
  t.ok(
    logs.some((entry) => entry.message === 'stopped'),
    'it logged its stop',
  );
});
