// A restored pty master handed to a runc-style console socket through `ttycr console`: the
// listener gets one connection, one fd and the pts path as the payload, and the fd is the
// restored master: its index is the restored one and bytes written to it reach the pts.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { TtycrClient } from '../client/client.js';
import { closeQuietly, getfl, O_NONBLOCK, read, setfl, writeAll } from '../daemon/sys/fd.js';
import { getPtyIndex } from '../daemon/sys/pty.js';
import { recvWithFds, type Received } from '../daemon/sys/scm.js';
import {
  accept,
  bind,
  listen,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socket,
} from '../daemon/sys/socket.js';
import type { Result } from '../rpc-schema/methods.js';
import { startTmuxShell, ttycr, ttycrJson, waitFor } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

t.test('console [the master arrives on a console socket]', async (t) => {
  const daemon = await startDaemon();
  const shell = startTmuxShell(80, 24);
  const fds: number[] = [];
  t.teardown(async () => {
    for (const fd of fds) closeQuietly(fd);
    shell.kill();
    await daemon.cleanup();
  });

  // The console socket a runtime's shim would listen on.
  const path = join(daemon.dir, 'console.sock');
  const listener = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  fds.push(listener);
  bind(listener, path);
  listen(listener, 4);

  const before = await shell.capture('tty', join(daemon.dir, 'tty'));
  const pts = before.trim();
  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--kill',
    String(shell.pid),
  ]);
  // tmux closes the pane's master once bash is gone; until then the index is taken.
  await waitFor(`${pts} to be free`, () => !existsSync(pts));
  const restore = await ttycrJson<Result<'restore.start'>>(daemon.socket, ['restore', made.id]);
  const restored = restore.ttys[0]!;

  const sent = await ttycr(daemon.socket, [
    '--json',
    'console',
    restore.id,
    '--console-socket',
    path,
  ]);
  t.equal(sent.code, 0, `ttycr console exits 0: ${sent.stderr}`);
  const result = JSON.parse(sent.stdout) as unknown;
  t.match(result, { index: restored.newIndex, name: restored.path }, '--json says index and name');

  // ttycr has exited: its connection waits in the backlog with everything it sent.
  const conn = accept(listener);
  t.not(conn, null, 'ttycr connected to the console socket');
  fds.push(conn!);
  t.equal(accept(listener), null, 'and only once');

  const buf = Buffer.alloc(4096);
  const got = recvWithFds(conn!, buf, 4) as Received;
  fds.push(...got.fds);
  t.equal(got.fds.length, 1, 'exactly one fd came');
  t.notOk(got.truncated, 'nothing was cut off');
  t.equal(buf.subarray(0, got.bytes).toString(), restored.path, 'the payload is the pts path');
  const end = recvWithFds(conn!, buf, 4);
  t.equal(end?.bytes, 0, 'then the connection ends');

  const master = got.fds[0]!;
  t.equal(getPtyIndex(master), restored.newIndex, 'TIOCGPTN gives the restored index');

  // The task's pts fds, claimed as a restorer would, read what the master writes.
  const client = await TtycrClient.connect(daemon.socket);
  const task = await client.claim(restore.id, shell.pid).finally(() => client.close());
  fds.push(...task.fds);
  const peer = task.fds[task.result.fds.findIndex((fd) => fd.end === 'slave')]!;
  t.ok(peer !== undefined, 'the task has a pts fd');

  writeAll(master, Buffer.from('through the console socket\n'));
  setfl(peer, getfl(peer) | O_NONBLOCK);
  let text = '';
  await waitFor('the bytes on the pts', () => {
    try {
      const n = read(peer, buf);
      text += buf.subarray(0, n).toString();
    } catch {
      // EAGAIN: not there yet.
    }
    return text.includes('\n');
  });
  t.equal(text, 'through the console socket\n', 'bytes written to the master reach the pts');
});
