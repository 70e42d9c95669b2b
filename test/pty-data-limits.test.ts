// Queued data that a dump reads must go back whole: through a pts the task holds read-only,
// and never for a queue so full that part of it could not be put back.

import t, { type Test } from 'tap';

import { pidfdGetfd, pidfdOpen } from '../daemon/sys/pidfd.js';
import { ECHO, ICANON } from '../daemon/sys/termios.js';
import { closeQuietly, getfl, O_ACCMODE, O_RDONLY, O_WRONLY } from '../daemon/sys/fd.js';
import { dump } from '../daemon/tty/index.js';
import { drain, fdOf, restoreIt, waitReleased } from './helpers/scenario.js';
import { startHolder, type Holder } from './helpers/holder.js';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('latin1');
const options = { uid: 0, freeze: true, data: true };

/** A copy of one of the holder's fds, to read what is queued on it as the holder would. */
function takeFd(t: Test, holder: Holder, fd: number): number {
  const pidfd = pidfdOpen(holder.pid);
  const taken = pidfdGetfd(pidfd, fd, holder.pid);
  closeQuietly(pidfd);
  t.teardown(() => closeQuietly(taken));
  return taken;
}

t.test('checkpoint [queued data through a pts held read-only or write-only]', async (t) => {
  for (const access of ['rdonly', 'wronly'] as const) {
    const holder = await startHolder({
      ptys: [
        { termios: { lflagClear: ECHO }, input: 'typed', output: 'shown\n', slaveAccess: access },
      ],
    });
    t.teardown(() => holder.kill());

    const first = await dump([holder.pid], { ...options, id: `${access}-1` });
    t.equal(decode(first.ttys[0]!.data!.output), 'shown\r\n', `${access}: output saved`);
    t.equal(decode(first.ttys[0]!.data!.input), 'typed', `${access}: input saved`);
    const second = await dump([holder.pid], { ...options, id: `${access}-2` });
    t.same(second.ttys[0]!.data, first.ttys[0]!.data, `${access}: and both put back for the task`);

    await holder.kill();
    await waitReleased(first);
    const restored = restoreIt(first);
    t.teardown(() => restored.close());
    const slave = fdOf(restored, 0, 'slave');
    const wanted = access === 'rdonly' ? O_RDONLY : O_WRONLY;
    t.equal(getfl(slave) & O_ACCMODE, wanted, `${access}: the restored pts has that access too`);
    const master = fdOf(restored, 0, 'master');
    t.equal(drain(master).toString('latin1'), 'shown\r\n', `${access}: a restore queues it`);
  }
});

t.test('checkpoint [a full output queue is refused, and left as it was]', async (t) => {
  const output = 'o'.repeat(6000);
  const holder = await startHolder({ ptys: [{ output }] });
  t.teardown(() => holder.kill());

  await t.rejects(
    dump([holder.pid], { ...options, id: 'full-output' }),
    { reason: 'LIMIT_EXCEEDED', message: /its output queue is full \(4095 bytes/ },
    'the dump says the queue is too full to save whole',
  );
  const master = takeFd(t, holder, holder.ptys[0]!.master);
  t.equal(drain(master, 2000).length, output.length, 'every byte still waits for the holder');
});

t.test('checkpoint [a full input queue is refused, and left as it was]', async (t) => {
  const input = 'i'.repeat(5000);
  const raw = { lflagClear: ICANON | ECHO };
  const holder = await startHolder({ ptys: [{ termios: raw, input, output: 'before' }] });
  t.teardown(() => holder.kill());

  await t.rejects(
    dump([holder.pid], { ...options, id: 'full-input' }),
    { reason: 'LIMIT_EXCEEDED', message: /its input queue is full/ },
    'the dump says the queue is too full to save whole',
  );
  const slave = takeFd(t, holder, holder.ptys[0]!.slaves[0]!);
  t.equal(drain(slave, 2000).length, input.length, 'every typed byte still waits for the holder');
  const master = takeFd(t, holder, holder.ptys[0]!.master);
  t.equal(drain(master).toString(), 'before', 'and the output read first was put back');
});
