// systemd integration: notify() and the watchdog reach a datagram socket at a path or an
// abstract name; listenFds() adopts a socket passed at fd 3 as socket activation does.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { connect } from '../client/connection.js';
import { reactor } from '../daemon/server/reactor.js';
import { EPOLLIN } from '../daemon/server/reactor.js';
import { listenFds, notify, startWatchdog } from '../daemon/server/systemd.js';
import { close } from '../daemon/sys/fd.js';
import { recvWithFds } from '../daemon/sys/scm.js';
import {
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  bind,
  listen,
  socket,
} from '../daemon/sys/socket.js';
import { LineQueue, closed, fdTest, socketDir } from './helpers/transport.js';

/** A datagram socket bound at `address` that hands each datagram received to `next()`. */
class NotifyListener {
  private readonly fd: number;
  private readonly watch;
  private readonly got: string[] = [];
  private waiters: ((message: string) => void)[] = [];

  constructor(address: string) {
    this.fd = socket(SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    bind(this.fd, address);
    const buf = Buffer.alloc(4096);
    this.watch = reactor().add(this.fd, EPOLLIN, () => {
      for (let got = recvWithFds(this.fd, buf, 0); got; got = recvWithFds(this.fd, buf, 0)) {
        const message = buf.subarray(0, got.bytes).toString();
        const waiter = this.waiters.shift();
        if (waiter) waiter(message);
        else this.got.push(message);
      }
    });
  }

  next(): Promise<string> {
    const message = this.got.shift();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.watch.remove();
    close(this.fd);
  }
}

fdTest(t, 'notify [to a path]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const listener = new NotifyListener(`${dir}/notify`);

  const sent = notify('READY=1\nSTATUS=serving', { NOTIFY_SOCKET: `${dir}/notify` });

  t.equal(sent, true);
  t.equal(await listener.next(), 'READY=1\nSTATUS=serving');
  listener.close();
});

fdTest(t, 'notify [to an abstract name]', async (t) => {
  const name = `@ttycr-test-notify-${process.pid}`;
  const listener = new NotifyListener(name);

  notify('STOPPING=1', { NOTIFY_SOCKET: name });

  t.equal(await listener.next(), 'STOPPING=1');
  listener.close();
});

fdTest(t, 'notify [without NOTIFY_SOCKET is a no-op]', async (t) => {
  t.equal(notify('READY=1', {}), false);
});

fdTest(t, 'notify [a socket nobody listens on is an error]', async (t) => {
  t.throws(() => notify('READY=1', { NOTIFY_SOCKET: '@ttycr-test-nobody' }), {
    name: 'SysError',
    code: 'ECONNREFUSED',
  });
});

fdTest(t, 'watchdog [WATCHDOG=1 at half of WATCHDOG_USEC]', async (t) => {
  const name = `@ttycr-test-watchdog-${process.pid}`;
  const listener = new NotifyListener(name);
  const env = { NOTIFY_SOCKET: name, WATCHDOG_USEC: '40000', WATCHDOG_PID: String(process.pid) };

  const stop = startWatchdog(undefined, env);

  t.equal(await listener.next(), 'WATCHDOG=1');
  t.equal(await listener.next(), 'WATCHDOG=1', 'and again');
  stop();
  listener.close();
});

fdTest(t, 'watchdog [off for another pid or without WATCHDOG_USEC]', async (t) => {
  const name = `@ttycr-test-watchdog-off-${process.pid}`;
  const listener = new NotifyListener(name);

  startWatchdog(undefined, { NOTIFY_SOCKET: name, WATCHDOG_USEC: '40000', WATCHDOG_PID: '1' })();
  startWatchdog(undefined, { NOTIFY_SOCKET: name })();
  notify('MARK', { NOTIFY_SOCKET: name });

  t.equal(await listener.next(), 'MARK', 'nothing came before the mark');
  listener.close();
});

fdTest(t, 'listenFds [fds meant for another process are ignored]', async (t) => {
  const env = { LISTEN_PID: '1', LISTEN_FDS: '1', LISTEN_FDNAMES: 'x' };

  t.same(listenFds(env), []);
  t.same(env, {}, 'the variables are removed all the same');
});

fdTest(t, 'listenFds [a passed socket is adopted and served]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const path = `${dir}/activated`;
  const passed = socket(SOCK_STREAM | SOCK_CLOEXEC);
  bind(passed, path);
  listen(passed, 16);
  const fixture = fileURLToPath(new URL('./fixtures/activated.ts', import.meta.url));

  // LISTEN_PID must be the child's own pid, which only the child's shell knows before the exec.
  const child = spawn(
    '/bin/sh',
    ['-c', 'export LISTEN_PID=$$; exec "$@"', 'sh', process.execPath, ...process.execArgv, fixture],
    {
      env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'ttycrd.socket' },
      stdio: ['ignore', 'inherit', 'inherit', passed],
    },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  close(passed);

  const client = await connect(path);
  const got = new LineQueue(client);
  client.send('hello');
  const report = JSON.parse((await got.next()).text);

  t.same(report.fds, [{ fd: 3, name: 'ttycrd.socket' }], 'fd 3 with its name');
  t.same(report.cloexec, [true], 'made close-on-exec');
  t.same(report.left, [], 'no LISTEN_* variable left for children');
  await closed(client);
  t.equal(await exited, 0, 'the activated program exits cleanly');
});
