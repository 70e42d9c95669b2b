import t from 'tap';

import { ECHO } from '../daemon/sys/termios.js';

const N_NULL = 27;
import { checkpointHolder, openFdCount, ptyCount, restoreIt } from './helpers/scenario.js';

// Every named step of a restore, in order; each must leave nothing behind when it fails.
const steps = [
  'allocate',
  'unlock',
  'peer',
  'node',
  'termios',
  'locked-termios',
  'winsize',
  'ldisc',
  'packet',
  'exclusive',
  'data',
  'flags',
  'hangup',
  'lock',
  'tasks',
];

t.test('restore [rollback at every step]', async (t) => {
  const { checkpoint } = await checkpointHolder(
    {
      ptys: [
        {
          slaves: 2,
          node: { uid: 65534, gid: 5, mode: 0o620 },
          winsize: { rows: 10, cols: 20, xpixel: 0, ypixel: 0 },
          lockedTermios: { lflag: ECHO },
          packet: true,
          exclusive: true,
        },
        { keep: 'master', locked: true },
        { keep: 'slave' },
        { ldisc: N_NULL },
        { input: 'queued\nhalf', output: 'unread' },
      ],
    },
    { freeze: true, data: true },
  );

  for (const step of steps) {
    const fds = openFdCount();
    const ptys = ptyCount();
    t.throws(
      () => restoreIt(checkpoint, { failAt: step }),
      { data: { step }, message: /injected failure/ },
      `a failure at ${step} is reported as that step`,
    );
    t.equal(openFdCount(), fds, `${step}: fd count back to baseline`);
    t.equal(ptyCount(), ptys, `${step}: /proc/sys/kernel/pty/nr back to baseline`);
  }

  const restored = restoreIt(checkpoint);
  t.equal(restored.ttys.length, 5, 'without an injected failure all five come back');
  restored.close();
});
