// The transport's framing: one message per line, whatever the reads look like.

import t from 'tap';

import { connect, connectionPair } from '../client/connection.js';
import { Connection } from '../daemon/server/connection.js';
import { Listener } from '../daemon/server/listener.js';
import { closeQuietly, writeAll } from '../daemon/sys/fd.js';
import {
  SHUT_WR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  shutdown,
  socketpair,
} from '../daemon/sys/socket.js';
import { LineQueue, fdTest, closed, socketDir } from './helpers/transport.js';

/** A Connection on one end of a socketpair, and the raw fd of the other end. */
function rawPair(options = {}): { conn: Connection; raw: number } {
  const [a, b] = socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  return { conn: new Connection(b, options), raw: a };
}

fdTest(t, 'lines [in order]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b);

  for (const text of ['{"n":1}', '{"n":2}', '{"n":3}']) a.send(text);

  t.equal((await got.next()).text, '{"n":1}');
  t.equal((await got.next()).text, '{"n":2}');
  t.equal((await got.next()).text, '{"n":3}');
  a.destroy();
  t.equal(await closed(b), 'end', 'the peer sees the end');
});

fdTest(t, 'lines [many per read]', async (t) => {
  const { conn, raw } = rawPair();
  const got = new LineQueue(conn);

  writeAll(raw, Buffer.from('one\ntwo\nthree\n'));

  t.equal((await got.next()).text, 'one');
  t.equal((await got.next()).text, 'two');
  t.equal((await got.next()).text, 'three');
  conn.destroy();
  closeQuietly(raw);
});

fdTest(t, 'lines [split across reads]', async (t) => {
  const { conn, raw } = rawPair();
  const got = new LineQueue(conn);

  writeAll(raw, Buffer.from('{"method":'));
  const first = got.next();
  await new Promise((resolve) => setTimeout(resolve, 20));
  writeAll(raw, Buffer.from('"x"}\nnext\n'));

  t.equal((await first).text, '{"method":"x"}', 'the halves make one line');
  t.equal((await got.next()).text, 'next');
  conn.destroy();
  closeQuietly(raw);
});

fdTest(t, 'lines [multi-byte characters split across reads]', async (t) => {
  const { conn, raw } = rawPair();
  const got = new LineQueue(conn);
  const bytes = Buffer.from('"naïve ☃"\n');

  writeAll(raw, bytes.subarray(0, 9));
  const line = got.next();
  await new Promise((resolve) => setTimeout(resolve, 20));
  writeAll(raw, bytes.subarray(9));

  t.equal((await line).text, '"naïve ☃"');
  conn.destroy();
  closeQuietly(raw);
});

fdTest(t, 'lines [half-close still gets replies]', async (t) => {
  // What `socat - UNIX-CONNECT:PATH` does: send, shut down the write side, read the answer.
  const { conn, raw } = rawPair();
  conn.onLine = async (line) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    conn.send(`re ${line.text}`);
  };
  const reply = new Connection(raw);
  const got = new LineQueue(reply);

  reply.send('ping');
  writeAll(raw, Buffer.from('last without newline'));
  shutdown(raw, SHUT_WR);

  t.equal((await got.next()).text, 're ping');
  t.equal((await got.next()).text, 're last without newline', 'a final unterminated line counts');
  t.equal(await closed(conn), 'end', 'closed after answering');
  reply.destroy();
});

fdTest(t, 'lines [a 2 MiB line is refused and closes the connection]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const reasons: string[] = [];
  const listener = Listener.listen(`${dir}/s`, {
    goodbye: (reason) => `{"error":"${reason}"}`,
    onConnection: (conn) => {
      conn.onLine = (line) => void conn.send(`echo ${line.text.length}`);
      conn.onClose = (reason) => reasons.push(reason);
    },
  });
  const client = await connect(`${dir}/s`);
  const got = new LineQueue(client);

  client.send('small');
  t.equal((await got.next()).text, 'echo 5', 'a normal line is answered first');
  client.send('x'.repeat(2 << 20));

  t.equal((await got.next()).text, '{"error":"line-too-long"}', 'the goodbye line comes back');
  await closed(client);
  t.pass('then the daemon closes');
  t.same(reasons, ['line-too-long']);

  const other = await connect(`${dir}/s`);
  const otherGot = new LineQueue(other);
  other.send('still here');
  t.equal((await otherGot.next()).text, 'echo 10', 'the listener keeps serving');
  other.destroy();
  await listener.close();
});

fdTest(t, 'lines [an overlong line can be skipped instead]', async (t) => {
  const [a, b] = connectionPair(
    {},
    { maxLineBytes: 1000, closeOnLongLine: false, goodbye: () => 'too long' },
  );
  b.onLine = (line) => void b.send(`echo ${line.text}`);
  const got = new LineQueue(a);

  a.send('before');
  a.send('y'.repeat(5000));
  a.send('after');

  t.equal((await got.next()).text, 'echo before');
  t.equal((await got.next()).text, 'too long');
  t.equal((await got.next()).text, 'echo after', 'the connection keeps working');
  a.destroy();
  await closed(b);
});

fdTest(t, 'lines [a line at the limit passes]', async (t) => {
  const [a, b] = connectionPair({}, { maxLineBytes: 100_000 });
  const got = new LineQueue(b);

  a.send('z'.repeat(100_000));

  t.equal((await got.next()).text.length, 100_000);
  a.destroy();
  await closed(b);
});

fdTest(t, 'lines [send after close is dropped]', async (t) => {
  const [fdA, fdB] = socketpair(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
  const a = new Connection(fdA);
  a.destroy();

  t.equal(a.send('nobody'), false);
  t.equal(a.closed, true);
  closeQuietly(fdB);
});
