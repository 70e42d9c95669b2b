// The notify protocol as systemd sees it from a real ttycrd: a datagram listener in place of
// systemd's, at a path and at an abstract name, gets READY=1 once the socket serves, STATUS=
// with counts, STOPPING=1 on SIGTERM, and WATCHDOG=1 when WATCHDOG_USEC asks for it.

import t, { type Test } from 'tap';

import { SysError } from '../daemon/sys/errors.js';
import { closeQuietly } from '../daemon/sys/fd.js';
import { SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, connect, socket } from '../daemon/sys/socket.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';
import { NotifyListener, assignments } from './helpers/notify-listener.js';
import { socketDir } from './helpers/transport.js';

const STATUS = /^\d+ checkpoints, \d+ restores pending, \d+ connections$/;

/** Whether a client could connect to `path` at this very moment (a synchronous connect). */
function connectable(path: string): string {
  const fd = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  try {
    connect(fd, path);
    return 'connected';
  } catch (err) {
    return err instanceof SysError ? err.code : String(err);
  } finally {
    closeQuietly(fd);
  }
}

/**
 * A daemon started with NOTIFY_SOCKET at `address`, and what a client saw the instant READY=1
 * arrived: checked inside the datagram's own callback, before the daemon runs any further.
 */
async function notifyingDaemon(t: Test, address: string, env: Record<string, string> = {}) {
  const listener = new NotifyListener(address);
  t.teardown(() => listener.close());
  let socketPath = '';
  let atReady = '';
  const ready = listener.until((m) => {
    if (!assignments(m).has('READY')) return false;
    atReady = connectable(socketPath);
    return true;
  });

  const dir = socketDir();
  t.teardown(dir.remove);
  socketPath = `${dir.dir}/ttycrd.sock`;
  const daemon = await startDaemon({
    args: ['--socket', socketPath],
    env: { NOTIFY_SOCKET: address, ...env },
  });
  t.teardown(() => daemon.cleanup());
  await ready;
  return { listener, daemon, socketPath, atReady: () => atReady };
}

/** READY=1 once, while the socket serves, with the counts; then a call is answered. */
async function readyCase(t: Test, address: string): Promise<void> {
  const { listener, daemon, socketPath, atReady } = await notifyingDaemon(t, address);

  const ready = assignments(await listener.assigning('READY'));
  t.equal(ready.get('READY'), '1', 'READY=1');
  t.equal(atReady(), 'connected', 'the socket accepted a connection when READY=1 came');
  t.match(ready.get('STATUS'), STATUS, 'READY=1 comes with STATUS= and its counts');

  const client = await RpcClient.connect(socketPath);
  t.teardown(() => client.close());
  const status = await client.call('daemon.status');
  t.equal(status.result?.pid, daemon.pid, 'the daemon that said READY=1 answers');
  t.equal(listener.count('READY'), 1, 'READY=1 is sent once');
}

t.test('ttycrd notify [READY=1 to a path]', async (t) => {
  const dir = socketDir();
  t.teardown(dir.remove);
  await readyCase(t, `${dir.dir}/notify`);
});

t.test('ttycrd notify [READY=1 to an abstract name]', async (t) => {
  await readyCase(t, `@ttycr-test-notify-${process.pid}`);
});

t.test('ttycrd notify [STATUS= follows the counts]', async (t) => {
  const address = `@ttycr-test-status-${process.pid}`;
  const { listener, socketPath } = await notifyingDaemon(t, address);
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());
  const client = await RpcClient.connect(socketPath);
  t.teardown(() => client.close());

  const created = await client.call('checkpoint.create', { pids: [holder.pid] });
  t.notOk(created.error, 'checkpoint.create [no error]');

  const status = await listener.until((m) =>
    /^1 checkpoints,/.test(assignments(m).get('STATUS') ?? ''),
  );
  t.match(assignments(status).get('STATUS'), STATUS, 'the same shape');
  t.match(status, /1 connections/, 'the open connection is counted');
});

t.test('ttycrd notify [STOPPING=1 on SIGTERM]', async (t) => {
  const address = `@ttycr-test-stopping-${process.pid}`;
  const { listener, daemon } = await notifyingDaemon(t, address);

  const code = await daemon.stop();
  const stopping = assignments(await listener.assigning('STOPPING'));

  t.equal(stopping.get('STOPPING'), '1', 'STOPPING=1');
  t.equal(code, 0, 'a clean exit');
  const last = listener.messages.at(-1) ?? '';
  t.ok(assignments(last).has('STOPPING'), `nothing after STOPPING=1 (last: ${last})`);
});

t.test('ttycrd notify [WATCHDOG=1 when WATCHDOG_USEC is set]', async (t) => {
  const address = `@ttycr-test-watchdog-${process.pid}`;
  // 0.2 s: pings every 0.1 s; two of them show a timer, not one send at start.
  const { listener } = await notifyingDaemon(t, address, { WATCHDOG_USEC: '200000' });

  const first = await listener.assigning('WATCHDOG');
  t.equal(assignments(first).get('WATCHDOG'), '1', 'WATCHDOG=1');
  await listener.until((m) => assignments(m).has('WATCHDOG') && listener.count('WATCHDOG') >= 2);
  t.ok(listener.count('WATCHDOG') >= 2, 'and again');
});
