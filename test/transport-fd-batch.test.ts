// Pipelined lines behind a full socket: a line with fds keeps them, the lines after it get none.

import { openSync } from 'node:fs';

import t from 'tap';

import { connectionPair } from '../client/connection.js';
import { close } from '../daemon/sys/fd.js';
import { LineQueue, closed, fdTest } from './helpers/transport.js';

fdTest(t, 'fd batch [a backed-up queue keeps each fd line apart]', async (t) => {
  const [a, b] = connectionPair();
  const got = new LineQueue(b);
  const big = 'b'.repeat(600_000);

  // The first line fills the socket buffer, so everything after it waits in the queue and
  // goes out together once the reader drains the socket.
  a.send(big);
  a.send('first claim', [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')], {
    closeFds: true,
  });
  a.send('after one');
  a.send('after two');
  a.send('second claim', [openSync('/dev/null', 'r')], { closeFds: true });
  a.send('last');

  const lines = [];
  for (let i = 0; i < 6; i++) lines.push(await got.next());

  t.equal(lines[0]!.text.length, big.length, 'the big line came whole');
  t.equal(lines[0]!.fds.length, 0, 'with no fds');
  t.equal(lines[1]!.text, 'first claim');
  t.equal(lines[1]!.fds.length, 2, 'the first claim has its two fds');
  t.same(
    lines.slice(2, 4).map((line) => [line.text, line.fds.length]),
    [
      ['after one', 0],
      ['after two', 0],
    ],
    'the lines after it have none',
  );
  t.equal(lines[4]!.text, 'second claim');
  t.equal(lines[4]!.fds.length, 1, 'the second claim has its fd');
  t.same([lines[5]!.text, lines[5]!.fds.length], ['last', 0], 'the last line has none');

  for (const line of lines) for (const fd of line.fds) close(fd);
  a.destroy();
  await closed(b);
});
