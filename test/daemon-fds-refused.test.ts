// A client that sends fds to the daemon: none stay in the daemon, the request is FDS_TRUNCATED.

import { openSync } from 'node:fs';

import t from 'tap';

import { LineSplitter } from '../daemon/server/lines.js';
import { POLLIN, closeQuietly, pollOne } from '../daemon/sys/fd.js';
import { recvWithFds, sendWithFds } from '../daemon/sys/scm.js';
import { SOCK_CLOEXEC, SOCK_STREAM, connect, socket } from '../daemon/sys/socket.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('fds to the daemon [many, with no newline: the daemon keeps none]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const baseline = daemon.fdCount();

  // A blocking socket of our own: Connection.send always ends a line, and this must not.
  // 60 fds a send: under the 64 a read used to make room for, so none were truncated.
  const fd = socket(SOCK_STREAM | SOCK_CLOEXEC);
  t.teardown(() => closeQuietly(fd));
  connect(fd, daemon.socket);
  const nulls = Array.from({ length: 60 }, () => openSync('/dev/null', 'r'));
  t.teardown(() => nulls.forEach(closeQuietly));

  sendWithFds(fd, [Buffer.from('{"jsonrpc":"2.0","id":7,')], nulls);
  for (let i = 0; i < 20; i++) sendWithFds(fd, [Buffer.from(' ')], nulls);
  // A round trip on a second connection: by its answer the daemon has read the first one,
  // whose bytes were waiting before this request was sent.
  const other = await RpcClient.connect(daemon.socket);
  await other.call('daemon.status');
  t.equal(daemon.fdCount(), baseline + 2, 'the daemon holds two connections and no fd sent');
  other.close();

  sendWithFds(fd, [Buffer.from('"method":"daemon.status"}\n')], []);
  const buf = Buffer.alloc(4096);
  const splitter = new LineSplitter(1 << 20);
  let lines: ReturnType<LineSplitter['feed']> = [];
  while (lines.length === 0) {
    pollOne(fd, POLLIN, 10_000);
    const got = recvWithFds(fd, buf, 0);
    if (got === null || got.bytes === 0) break;
    lines = splitter.feed(buf.subarray(0, got.bytes), got.fds, got.truncated);
  }
  const reply = JSON.parse(lines[0]?.text ?? '{}') as { id?: number; error?: { data?: object } };
  t.equal(reply.id, 7, 'the request is answered');
  t.match(reply.error?.data, { reason: 'FDS_TRUNCATED' }, 'as FDS_TRUNCATED');

  closeQuietly(fd);
  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
});
