// The listener's limits and housekeeping: connections, idle time, many clients, socket files.

import { statSync, writeFileSync } from 'node:fs';

import t, { type Test } from 'tap';

import { connect } from '../client/connection.js';
import { Listener } from '../daemon/server/listener.js';
import { SysError } from '../daemon/sys/errors.js';
import { close } from '../daemon/sys/fd.js';
import { SOCK_CLOEXEC, SOCK_STREAM, bind, socket } from '../daemon/sys/socket.js';
import { LineQueue, closed, fdTest, socketDir } from './helpers/transport.js';

/** A listener that echoes each line, in a fresh directory removed at the end of the test. */
function echoListener(t: Test, options: Partial<Parameters<typeof Listener.listen>[1]> = {}) {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const path = `${dir}/s`;
  const listener = Listener.listen(path, {
    goodbye: (reason) => `bye ${reason}`,
    onConnection: (conn) => {
      conn.onLine = (line) => void conn.send(`echo ${line.text}`);
    },
    ...options,
  });
  return { path, listener };
}

fdTest(t, 'limits [max connections]', async (t) => {
  const { path, listener } = echoListener(t, { maxConnections: 2 });
  const first = await connect(path);
  const second = await connect(path);
  const firstGot = new LineQueue(first);
  first.send('hello');
  await firstGot.next();

  const third = await connect(path);
  const thirdGot = new LineQueue(third);

  t.equal((await thirdGot.next()).text, 'bye too-many-connections', 'the third is refused');
  t.equal(await closed(third), 'end', 'and closed by the daemon');
  t.equal(listener.connections.size, 2, 'the two others stay');

  second.destroy();
  while (listener.connections.size > 1) await new Promise((resolve) => setTimeout(resolve, 1));
  const fourth = await connect(path);
  const fourthGot = new LineQueue(fourth);
  fourth.send('room again');
  t.equal((await fourthGot.next()).text, 'echo room again', 'a freed slot is usable');

  first.destroy();
  fourth.destroy();
  await listener.close();
});

fdTest(t, 'limits [idle timeout]', async (t) => {
  const { path, listener } = echoListener(t, { idleTimeoutMs: 50 });
  const client = await connect(path);
  const got = new LineQueue(client);

  client.send('ping');
  t.equal((await got.next()).text, 'echo ping', 'served while active');
  t.equal((await got.next()).text, 'bye idle', 'told why before the close');
  t.equal(await closed(client), 'end', 'then closed by the daemon');

  await listener.close();
});

fdTest(t, 'limits [200 concurrent connections each sending lines]', async (t) => {
  const { path, listener } = echoListener(t);
  const clients = await Promise.all(Array.from({ length: 200 }, () => connect(path)));

  const answers = await Promise.all(
    clients.map(async (client, i) => {
      const got = new LineQueue(client);
      for (let n = 0; n < 10; n++) client.send(`${i}.${n}`);
      const texts: string[] = [];
      for (let n = 0; n < 10; n++) texts.push((await got.next()).text);
      return texts;
    }),
  );

  t.equal(listener.connections.size, 200, 'all 200 open at once');
  const wrong = answers.filter((texts, i) => texts.join() !== expected(i).join());
  t.equal(wrong.length, 0, 'every connection got its own answers, in order');
  for (const client of clients) client.destroy();
  await listener.close();
});

function expected(i: number): string[] {
  return Array.from({ length: 10 }, (_, n) => `echo ${i}.${n}`);
}

fdTest(t, 'limits [close ends connections and removes the socket file]', async (t) => {
  const { path, listener } = echoListener(t);
  const client = await connect(path);
  const got = new LineQueue(client);
  client.send('accepted?');
  await got.next();

  await listener.close();

  t.equal(await closed(client), 'end', 'the client sees the end');
  t.throws(() => statSync(path), { code: 'ENOENT' }, 'the socket file is gone');
});

fdTest(t, 'listen [mode and group]', async (t) => {
  const { path, listener } = echoListener(t, { mode: 0o660, gid: 65534 });
  const st = statSync(path);

  t.equal(st.mode & 0o777, 0o660);
  t.equal(st.gid, 65534);
  await listener.close();
});

fdTest(t, 'listen [a stale socket file is replaced]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const path = `${dir}/s`;
  const dead = socket(SOCK_STREAM | SOCK_CLOEXEC);
  bind(dead, path);
  close(dead);

  const listener = Listener.listen(path, { onConnection: () => {} });
  const client = await connect(path);

  t.pass('listening where a dead socket was');
  client.destroy();
  await listener.close();
});

fdTest(t, 'listen [a live socket is not taken over]', async (t) => {
  const { path, listener } = echoListener(t);

  t.throws(() => Listener.listen(path, { onConnection: () => {} }), { code: 'EADDRINUSE' });
  const client = await connect(path);
  const got = new LineQueue(client);
  client.send('still mine');
  t.equal((await got.next()).text, 'echo still mine', 'the first listener still serves');

  client.destroy();
  await listener.close();
});

fdTest(t, 'listen [a file that is not a socket is left alone]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  writeFileSync(`${dir}/s`, 'data');

  t.throws(() => Listener.listen(`${dir}/s`, { onConnection: () => {} }), { code: 'EADDRINUSE' });
  t.equal(statSync(`${dir}/s`).size, 4, 'the file is untouched');
});

fdTest(t, 'connect [no daemon]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const dead = socket(SOCK_STREAM | SOCK_CLOEXEC);
  bind(dead, `${dir}/refused`);

  await t.rejects(connect(`${dir}/missing`), { name: 'SysError', code: 'ENOENT' });
  await t.rejects(connect(`${dir}/refused`), { name: 'SysError', code: 'ECONNREFUSED' });
  t.type(SysError, 'function');
  close(dead);
});
