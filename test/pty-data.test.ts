import t from 'tap';

import { dump } from '../daemon/tty/index.js';
import { ECHO, ICANON, VMIN, VTIME } from '../daemon/sys/termios.js';
import { checkpointHolder, drain, fdOf, restoreIt, send } from './helpers/scenario.js';
import { startHolder } from './helpers/holder.js';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('latin1');

t.test('restore [queued data, canonical: a partial line stays partial]', async (t) => {
  const { checkpoint } = await checkpointHolder(
    { ptys: [{ input: 'line one\npart', output: 'out\r\nno newline mapping\n' }] },
    { freeze: true, data: true },
  );
  const data = checkpoint.ttys[0]!.data!;
  t.equal(decode(data.input), 'line one\npart', 'the image has the unread input, partial line too');
  t.match(decode(data.output), 'out\r\r\nno newline mapping\r\n', 'and the unread output');
  t.match(decode(data.output), 'line one\r\npart', 'with the echo of the typed input');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  const slave = fdOf(restored, 0, 'slave');

  t.equal(drain(master).toString('latin1'), decode(data.output), 'output comes back byte for byte');
  t.equal(drain(slave).toString('latin1'), 'line one\n', 'the complete line reads alone');
  t.equal(drain(slave, 100).length, 0, 'the partial line is not readable yet');
  t.equal(send(master, slave, '2\n'), 'part2\n', 'typing ends the partial line');
});

t.test('restore [queued data, raw mode and packet mode]', async (t) => {
  const { checkpoint } = await checkpointHolder(
    {
      ptys: [
        {
          termios: { lflagClear: ICANON | ECHO, cc: { [VMIN]: 1, [VTIME]: 0 } },
          packet: true,
          input: 'a\x00b\x04c\x16d\n',
          output: 'raw out',
        },
      ],
    },
    { freeze: true, data: true },
  );
  const data = checkpoint.ttys[0]!.data!;
  t.equal(decode(data.input), 'a\x00b\x04c\x16d\n', 'raw input with control bytes');
  t.equal(decode(data.output), 'raw out', 'output without the packet header');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  const slave = fdOf(restored, 0, 'slave');
  const out = drain(master);
  t.equal(out[0], 0, 'a packet header, from packet mode');
  t.equal(out.subarray(1).toString('latin1'), 'raw out', 'then the output');
  t.equal(drain(slave).toString('latin1'), 'a\x00b\x04c\x16d\n', 'input comes back unchanged');
});

t.test('checkpoint [queued data is put back when the tasks go on]', async (t) => {
  const holder = await startHolder({ ptys: [{ input: 'typed\nhalf', output: 'shown\n' }] });
  t.teardown(() => holder.kill());
  const options = { uid: 0, freeze: true, data: true };
  const first = await dump([holder.pid], { ...options, id: 'first' });
  const second = await dump([holder.pid], { ...options, id: 'second' });
  t.same(second.ttys[0]!.data, first.ttys[0]!.data, 'a second dump sees the same queues');
  t.same(second.ttys[0]!.termios, first.ttys[0]!.termios, 'and the same termios');
});

t.test('checkpoint [output queued on a master whose pts closed is kept]', async (t) => {
  const holder = await startHolder({ ptys: [{ keep: 'master', output: 'last words\n' }] });
  t.teardown(() => holder.kill());
  const options = { uid: 0, freeze: true, data: true };
  const first = await dump([holder.pid], { ...options, id: 'first' });
  t.equal(decode(first.ttys[0]!.data!.output), 'last words\r\n', 'the output is in the image');
  const second = await dump([holder.pid], { ...options, id: 'second' });
  t.same(second.ttys[0]!.data, first.ttys[0]!.data, 'and still queued for the holder after');

  const restored = restoreIt(first, { indexPolicy: 'any' });
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  t.equal(drain(master).toString('latin1'), 'last words\r\n', 'a restore queues it again');
});
