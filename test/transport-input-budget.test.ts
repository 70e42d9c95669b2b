// The input budget: the unfinished lines of all of a listener's connections together stay within
// maxBufferedInputBytes. Many connections sending big partial lines: those that would go over
// get the goodbye and are closed, the rest keep their lines, other clients are still served,
// and bytes held go back to the budget once a line ends.

import t, { type Test } from 'tap';

import { connect } from '../client/connection.js';
import { Connection, type CloseReason } from '../daemon/server/connection.js';
import { InputBudget, LineSplitter } from '../daemon/server/lines.js';
import { DEFAULT_MAX_BUFFERED_INPUT_BYTES, Listener } from '../daemon/server/listener.js';
import { isErrno } from '../daemon/sys/errors.js';
import { closeQuietly, writeAll } from '../daemon/sys/fd.js';
import { recvWithFds, sendWithFds } from '../daemon/sys/scm.js';
import {
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  connect as connectSocket,
  socket,
  socketpair,
} from '../daemon/sys/socket.js';
import { LineQueue, closed, fdTest, socketDir } from './helpers/transport.js';

t.test('splitter [held bytes come from the budget and go back]', async (t) => {
  const budget = new InputBudget(1000);
  const a = new LineSplitter(1 << 20, budget);
  const b = new LineSplitter(1 << 20, budget);

  t.same(a.feed(Buffer.from('x'.repeat(600)), [], false), [], 'a holds an unfinished line');
  t.equal(budget.used, 600, 'taken from the budget');
  t.same(b.feed(Buffer.from('y'.repeat(600)), [], false), [null], 'b would go over: refused');
  t.equal(b.overBudget, true, 'for the budget, not the line limit');
  t.equal(budget.used, 600, 'b holds nothing');
  t.same(b.feed(Buffer.from('y\n'), [], false), [], 'the rest of the refused line is dropped');
  t.equal(b.overBudget, false, 'only the latest feed counts');

  const lines = a.feed(Buffer.from('\n'), [], false);
  t.equal(lines[0]?.text.length, 600, 'a line ends');
  t.equal(budget.used, 0, 'its bytes go back');
  t.equal(a.buffered, 0, 'and the splitter holds none');

  b.feed(Buffer.from('z'.repeat(900)), [], false);
  t.equal(budget.used, 900, 'b may take them now');
  b.dispose();
  t.equal(budget.used, 0, 'a connection that goes gives back what it held');

  const tooLong = new LineSplitter(100, budget);
  t.same(tooLong.feed(Buffer.from('w'.repeat(101)), [], false), [null], 'over the line limit');
  t.equal(tooLong.overBudget, false, 'is not over the budget');
  t.equal(budget.used, 0, 'and holds nothing');
});

t.test('splitter [keeps a copy, not a view of the read buffer]', async (t) => {
  const splitter = new LineSplitter(1 << 20);
  // As Connection does: one read buffer, reused for the next read.
  const readBuffer = Buffer.from('{"a":1}\n{"b":');
  t.equal(splitter.feed(readBuffer, [], false)[0]?.text, '{"a":1}');
  readBuffer.fill('#');

  t.equal(splitter.feed(Buffer.from('2}\n'), [], false)[0]?.text, '{"b":2}', 'the tail is intact');
});

/**
 * A client on a raw non-blocking socket, so that it can send a line without its newline and
 * still read the goodbye after the listener closed its end (EPIPE on write, then ECONNRESET or
 * EOF on read once the goodbye is read).
 */
class RawClient {
  readonly fd: number;
  received = '';
  gone = false;
  private out: Buffer = Buffer.alloc(0);
  private static readonly buf = Buffer.alloc(65536);

  constructor(path: string) {
    this.fd = socket(SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    connectSocket(this.fd, path);
  }

  write(data: Buffer): void {
    this.out = Buffer.concat([this.out, data]);
  }

  get sentAll(): boolean {
    return this.out.length === 0;
  }

  /** Sends what the socket takes and reads what came; the listener runs between calls. */
  step(): void {
    if (this.gone) return;
    try {
      while (this.out.length > 0) {
        const sent = sendWithFds(this.fd, [this.out.subarray(0, 65536)], []);
        if (sent === null) break;
        this.out = this.out.subarray(sent);
      }
    } catch (err) {
      if (!isErrno(err, 'EPIPE', 'ECONNRESET')) throw err;
      this.out = Buffer.alloc(0);
    }
    for (;;) {
      let got;
      try {
        got = recvWithFds(this.fd, RawClient.buf, 0);
      } catch (err) {
        if (!isErrno(err, 'ECONNRESET')) throw err;
        this.gone = true;
        return;
      }
      if (got === null) return;
      if (got.bytes === 0) {
        this.gone = true;
        return;
      }
      this.received += RawClient.buf.toString('utf8', 0, got.bytes);
    }
  }

  close(): void {
    closeQuietly(this.fd);
  }
}

/** Steps every client, letting the listener run in between, until `done()` holds. */
async function drive(clients: RawClient[], done: () => boolean): Promise<void> {
  for (;;) {
    for (const client of clients) client.step();
    if (done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A listener that answers a short line with `echo TEXT` and a long one with `len N`. */
function budgetListener(t: Test, options: Partial<Parameters<typeof Listener.listen>[1]> = {}) {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const path = `${dir}/s`;
  const reasons: CloseReason[] = [];
  const listener = Listener.listen(path, {
    goodbye: (reason) => `bye ${reason}`,
    onConnection: (conn) => {
      conn.onLine = (line) =>
        void conn.send(line.text.length > 64 ? `len ${line.text.length}` : `echo ${line.text}`);
      conn.onClose = (reason) => reasons.push(reason);
    },
    ...options,
  });
  /** Server-side connections holding an unfinished line of exactly `bytes`. */
  const holding = (bytes: number) =>
    [...listener.connections].filter((conn) => conn.bufferedInput === bytes).length;
  return { path, listener, reasons, holding };
}

/**
 * `count` clients each send `partial` bytes and no newline, until each is either refused
 * (goodbye read, closed) or its whole partial line is held by the listener.
 */
async function sendPartials(
  path: string,
  count: number,
  partial: number,
  holding: (bytes: number) => number,
) {
  const clients = Array.from({ length: count }, () => new RawClient(path));
  const bytes = Buffer.alloc(partial, 'x');
  for (const client of clients) client.write(bytes);
  const refused = () => clients.filter((c) => c.gone);
  await drive(clients, () => refused().length + holding(partial) === count);
  return { clients, refused: refused(), kept: clients.filter((c) => !c.gone) };
}

fdTest(t, 'budget [excess connections are refused, the others still work]', async (t) => {
  const budget = 4 << 20;
  const partial = 768 << 10;
  const { path, listener, reasons, holding } = budgetListener(t, {
    maxBufferedInputBytes: budget,
  });
  t.equal(listener.inputBudget.limit, budget, 'the option sets the budget');

  const { clients, refused, kept } = await sendPartials(path, 12, partial, holding);
  const fit = Math.floor(budget / partial);
  t.ok(kept.length >= 1 && kept.length <= fit, `at most ${fit} lines kept (${kept.length})`);
  t.equal(refused.length, 12 - kept.length, 'every other connection is refused');
  t.ok(
    refused.every((c) => c.received === 'bye line-too-long\n'),
    'each refused one gets the goodbye of an overlong line',
  );
  t.equal(reasons.filter((r) => r === 'input-budget').length, refused.length, 'closed for it');
  t.equal(listener.inputBudget.used, kept.length * partial, 'the budget holds the kept lines');
  t.ok(listener.inputBudget.used <= budget, 'and never more than the budget');

  const other = await connect(path);
  const otherGot = new LineQueue(other);
  other.send('ping');
  t.equal((await otherGot.next()).text, 'echo ping', 'a new client is served meanwhile');

  for (const client of kept) client.write(Buffer.from('\n'));
  await drive(kept, () => kept.every((c) => c.received.endsWith('\n')));
  t.ok(
    kept.every((c) => c.received === `len ${partial}\n`),
    'the kept lines are whole and answered',
  );
  t.equal(listener.inputBudget.used, 0, 'answered lines give their bytes back');

  // Only with the budget given back do as many partial lines fit again.
  const again = await sendPartials(path, fit, partial, holding);
  t.equal(again.refused.length, 0, `${fit} new partial lines are all kept`);
  t.equal(listener.inputBudget.used, fit * partial, 'and held');

  for (const client of [...clients, ...again.clients]) client.close();
  other.destroy();
  await listener.close();
  t.equal(listener.inputBudget.used, 0, 'closed connections hold nothing');
});

fdTest(t, 'budget [on by default: 64 MiB]', async (t) => {
  const { path, listener, holding } = budgetListener(t);
  t.equal(listener.inputBudget.limit, DEFAULT_MAX_BUFFERED_INPUT_BYTES, 'the default');
  t.equal(DEFAULT_MAX_BUFFERED_INPUT_BYTES, 64 << 20);

  // Just under the default 1 MiB line limit, from more connections than fit in the budget.
  const partial = (1 << 20) - 1;
  const { clients, refused, kept } = await sendPartials(path, 72, partial, holding);
  t.ok(kept.length <= 64, `at most 64 kept (${kept.length})`);
  t.ok(refused.length >= 8, `the excess refused (${refused.length})`);
  t.ok(listener.inputBudget.used <= 64 << 20, 'memory held stays within the budget');

  const other = await connect(path);
  const otherGot = new LineQueue(other);
  other.send('still here');
  t.equal((await otherGot.next()).text, 'echo still here', 'other connections still work');

  for (const client of clients) client.close();
  other.destroy();
  await listener.close();
});

fdTest(t, 'budget [never below the line limit]', async (t) => {
  const { listener } = budgetListener(t, { maxLineBytes: 100 << 20 });
  t.equal(listener.inputBudget.limit, 100 << 20, 'one connection can always send a whole line');
  await listener.close();
});

fdTest(t, 'budget [a line over it can be skipped instead]', async (t) => {
  const budget = new InputBudget(1000);
  const [rawA, a] = socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const [rawB, b] = socketpair(SOCK_STREAM | SOCK_CLOEXEC);
  const options = { inputBudget: budget, closeOnLongLine: false, goodbye: () => 'over' };
  const connA = new Connection(a, options);
  const connB = new Connection(b, options);
  connB.onLine = (line) => void connB.send(`echo ${line.text}`);
  const replyConn = new Connection(rawB);
  const replies = new LineQueue(replyConn);

  writeAll(rawA, Buffer.from('a'.repeat(800)));
  while (connA.bufferedInput < 800) await new Promise((resolve) => setImmediate(resolve));
  writeAll(rawB, Buffer.from('b'.repeat(300)));
  t.equal((await replies.next()).text, 'over', 'told');
  writeAll(rawB, Buffer.from('bbb\nsmall\n'));
  t.equal((await replies.next()).text, 'echo small', 'and the connection reads on');
  t.equal(connB.closed, false, 'open');

  connA.destroy();
  connB.destroy();
  replyConn.destroy();
  closeQuietly(rawA);
  await closed(connB);
  t.equal(budget.used, 0, 'nothing held');
});
