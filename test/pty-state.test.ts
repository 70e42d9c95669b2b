import t from 'tap';

import { ECHO, ICANON, VMIN, VTIME } from '../daemon/sys/termios.js';
import { checkpointHolder, fdOf, readState, restoreIt, send } from './helpers/scenario.js';

const CBAUD = 0o010017;
const CIBAUD = CBAUD << 16;
const BOTHER = 0o010000;
const IXON = 0o2000;

t.test('restore [raw mode, custom speed, window, packet, exclusive, locked termios]', async (t) => {
  const winsize = { rows: 43, cols: 132, xpixel: 1320, ypixel: 860 };
  const { checkpoint } = await checkpointHolder({
    ptys: [
      {
        termios: {
          lflagClear: ICANON | ECHO,
          iflagClear: IXON,
          cc: { [VMIN]: 3, [VTIME]: 7 },
          cflagClear: CBAUD | CIBAUD,
          cflagSet: BOTHER | (BOTHER << 16),
          ispeed: 123457,
          ospeed: 76543,
        },
        winsize,
        packet: true,
        exclusive: true,
        lockedTermios: { lflag: ECHO },
      },
    ],
  });
  const saved = checkpoint.ttys[0]!;
  t.equal(saved.termios!.cc[VMIN], 3, 'the image has VMIN');
  t.equal(saved.termios!.ospeed, 76543, 'the image has the custom output speed');
  t.ok(saved.packet && saved.exclusive, 'the image has packet and exclusive mode');

  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  const master = fdOf(restored, 0, 'master');
  const slave = fdOf(restored, 0, 'slave');
  const state = readState(master, slave);

  t.same(state.termios, saved.termios, 'termios, speeds included');
  t.equal(state.termios.lflag & (ICANON | ECHO), 0, 'raw: no canon, no echo');
  t.equal(state.termios.cc[VTIME], 7, 'VTIME');
  t.equal(state.termios.cflag & CBAUD, BOTHER, 'BOTHER speed');
  t.equal(state.termios.ispeed, 123457, 'custom input speed');
  t.same(state.winsize, winsize, 'window size with pixels');
  t.equal(state.packet, true, 'packet mode');
  t.equal(state.exclusive, true, 'exclusive mode on the pts');
  t.equal(state.masterExclusive, false, 'no exclusive mode on the master');
  t.equal(state.lockedTermios.lflag, ECHO, 'locked termios');
  t.equal(state.locked, false, 'not locked');

  const got = send(slave, master, 'abc');
  t.equal(got.charCodeAt(0), 0, 'packet mode: a data packet header first');
  t.match(got, 'abc', 'pts to master');
  t.equal(send(master, slave, 'xyz'), 'xyz', 'master to pts, raw');
});

t.test('restore [locked pty stays locked]', async (t) => {
  const { checkpoint } = await checkpointHolder({ ptys: [{ keep: 'master', locked: true }] });
  t.equal(checkpoint.ttys[0]!.locked, true, 'the image has the lock');
  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  t.equal(readState(fdOf(restored, 0, 'master'), null).locked, true, 'locked again');
});

t.test('restore [line discipline]', async (t) => {
  const N_NULL = 27;
  const { checkpoint } = await checkpointHolder({ ptys: [{ ldisc: N_NULL }] });
  t.equal(checkpoint.ttys[0]!.ldisc, N_NULL, 'the image has N_NULL');
  const restored = restoreIt(checkpoint);
  t.teardown(() => restored.close());
  t.equal(
    readState(fdOf(restored, 0, 'master'), fdOf(restored, 0, 'slave')).ldisc,
    N_NULL,
    'N_NULL again',
  );
});
