// Passing fds: pty fds sent with a line arrive with that line and work; nothing leaks.

import t from 'tap';

import { connect, connectionPair } from '../client/connection.js';
import { Listener } from '../daemon/server/listener.js';
import { O_RDWR, POLLHUP, POLLIN, close, dup, pollOne, read, writeAll } from '../daemon/sys/fd.js';
import { getPtyIndex, openPeer, openPtmx, setPtyLock } from '../daemon/sys/pty.js';
import { ECHO, ICANON, tcgets2, tcsets2 } from '../daemon/sys/termios.js';
import { LineQueue, closed, fdTest, socketDir } from './helpers/transport.js';

/** A new pty: its master and its peer, in raw mode so bytes pass unchanged. */
function openPty(): { master: number; peer: number; index: number } {
  const master = openPtmx('/dev/ptmx');
  setPtyLock(master, false);
  const peer = openPeer(master, O_RDWR);
  const attrs = tcgets2(peer);
  tcsets2(peer, { ...attrs, lflag: attrs.lflag & ~(ICANON | ECHO) });
  return { master, peer, index: getPtyIndex(master) };
}

/** Whether the pty's master is closed everywhere: its peer then polls as hung up. */
function masterGone(peer: number): boolean {
  return (pollOne(peer, POLLIN, 0) & POLLHUP) !== 0;
}

/** Reads what the pty has for us; the fd is blocking, so this waits for the bytes. */
function readSome(fd: number): string {
  const buf = Buffer.alloc(256);
  return buf.subarray(0, read(fd, buf)).toString();
}

fdTest(t, 'fds [pty pair over a socketpair arrives and works]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b);
  const pty = openPty();

  a.send('{"claim":1}', [pty.master, pty.peer], { closeFds: true });
  const line = await got.next();

  t.equal(line.text, '{"claim":1}');
  t.equal(line.fds.length, 2, 'both fds came with the line');
  const [master, peer] = line.fds as [number, number];
  t.equal(getPtyIndex(master), pty.index, 'TIOCGPTN on the received master gives the same index');
  writeAll(peer, Buffer.from('to master'));
  t.equal(readSome(master), 'to master', 'bytes flow from the received peer to the master');
  writeAll(master, Buffer.from('to peer'));
  t.equal(readSome(peer), 'to peer', 'and back');

  close(master);
  close(peer);
  a.destroy();
  await closed(b);
});

fdTest(t, 'fds [through a real listener, between other lines]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const listener = Listener.listen(`${dir}/s`, {
    onConnection: (conn) => {
      conn.onLine = (line) => {
        if (line.text !== 'claim') return void conn.send(`echo ${line.text}`);
        const pty = openPty();
        conn.send(`pty ${pty.index}`, [pty.master, pty.peer], { closeFds: true });
      };
    },
  });
  const client = await connect(`${dir}/s`);
  const got = new LineQueue(client);

  client.send('one');
  client.send('claim');
  client.send('two');

  t.same(await got.next(), { text: 'echo one', fds: [], truncated: false });
  const claim = await got.next();
  t.equal(claim.fds.length, 2, 'the fds come with their line');
  t.equal(getPtyIndex(claim.fds[0]!), Number(claim.text.split(' ')[1]), 'the index matches');
  t.same(await got.next(), { text: 'echo two', fds: [], truncated: false }, 'no fds on the next');

  for (const fd of claim.fds) close(fd);
  client.destroy();
  await listener.close();
});

fdTest(t, 'fds [more than the receiver has room for: MSG_CTRUNC]', async (t) => {
  const [a, b] = connectionPair({}, { maxFdsPerLine: 2 });
  const got = new LineQueue(b);
  const ptys = [openPty(), openPty(), openPty(), openPty()];

  a.send(
    'four fds',
    ptys.map((pty) => pty.master),
    { closeFds: true },
  );
  const line = await got.next();

  t.equal(line.text, 'four fds', 'the line still arrives');
  t.equal(line.truncated, true, 'flagged truncated');
  t.same(line.fds, [], 'the fds that did arrive were closed, none handed on');
  a.send('after');
  t.same(await got.next(), { text: 'after', fds: [], truncated: false }, 'the stream goes on');

  a.destroy();
  await closed(b);
  for (const pty of ptys) {
    t.ok(masterGone(pty.peer), `pty ${pty.index} hung up: no copy of its master was kept`);
    close(pty.peer);
  }
});

fdTest(t, 'fds [a handler that does not take them gets them closed]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b, false);
  const pty = openPty();

  a.send('unasked', [pty.master], { closeFds: true });
  const line = await got.next();

  t.equal(line.text, 'unasked');
  t.ok(masterGone(pty.peer), 'the pty hung up: the receiver closed the master it got');
  close(pty.peer);
  a.destroy();
  await closed(b);
});

fdTest(t, 'fds [an async handler holds them until it settles]', async (t) => {
  const [a, b] = connectionPair();
  const pty = openPty();
  let index = -1;
  const done = new Promise<void>((resolve) => {
    b.onLine = async (line) => {
      await new Promise((wait) => setTimeout(wait, 10));
      const [fd] = line.takeFds() as [number];
      index = getPtyIndex(fd);
      close(fd);
      resolve();
    };
  });

  a.send('later', [pty.master]);
  await done;

  t.equal(index, pty.index, 'the fd was still open after the await');
  close(pty.master);
  close(pty.peer);
  a.destroy();
  await closed(b);
});

fdTest(t, 'fds [a line split across reads keeps its fds]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b);
  const pty = openPty();
  const big = 'p'.repeat(300_000);

  a.send(big, [pty.master]);
  const line = await got.next();

  t.equal(line.text.length, big.length);
  t.equal(line.fds.length, 1, 'the fd comes with the long line');
  t.equal(getPtyIndex(line.fds[0]!), pty.index);
  for (const fd of [...line.fds, pty.master, pty.peer]) close(fd);
  a.destroy();
  await closed(b);
});

fdTest(t, 'fds [more than one sendmsg carries: the line comes in segments]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b);
  const ptys = [openPty(), openPty(), openPty()];

  // 600 fds, over twice SCM_MAX_FD (253), cycling through three masters so order shows.
  const sent = Array.from({ length: 600 }, (_, i) => dup(ptys[i % 3]!.master));
  a.send(`{"many":${'x'.repeat(100)}}`, sent, { closeFds: true });
  a.send('after');
  const line = await got.next();

  t.equal(line.text, `{"many":${'x'.repeat(100)}}`, 'the line arrives whole');
  t.equal(line.truncated, false, 'not truncated');
  t.equal(line.fds.length, 600, 'with every fd');
  const indices = line.fds.map((fd) => getPtyIndex(fd));
  t.same(
    indices,
    sent.map((_, i) => ptys[i % 3]!.index),
    'in the order they were sent',
  );
  t.same(await got.next(), { text: 'after', fds: [], truncated: false }, 'the next has none');

  for (const fd of line.fds) close(fd);
  for (const pty of ptys) {
    close(pty.master);
    close(pty.peer);
  }
  a.destroy();
  await closed(b);
});
