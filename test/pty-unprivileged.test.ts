import { statSync } from 'node:fs';

import t from 'tap';

import { ECHO } from '../daemon/sys/termios.js';
import { checkpointHolder, fdOf, openFdCount, restoreIt } from './helpers/scenario.js';

const nobody = { uid: 65534, gid: 65534 };

t.test('restore [for a caller who is not root]', async (t) => {
  const fds = openFdCount();
  const { checkpoint: ldisc } = await checkpointHolder({ ptys: [{ ldisc: 27 }] });
  t.throws(
    () => restoreIt(ldisc, { caller: nobody }),
    { reason: 'PERMISSION_DENIED', message: /line discipline 27 needs root/ },
    'no line discipline but N_TTY',
  );
  const { checkpoint: locked } = await checkpointHolder({
    ptys: [{ lockedTermios: { lflag: ECHO } }],
  });
  t.throws(
    () => restoreIt(locked, { caller: nobody }),
    { reason: 'PERMISSION_DENIED', message: /locked termios need root/ },
    'no locked termios',
  );
  t.equal(openFdCount(), fds, 'nothing held after a refusal');

  const { checkpoint } = await checkpointHolder({
    ptys: [{ node: { uid: 0, gid: 0, mode: 0o620 } }],
  });
  const restored = restoreIt(checkpoint, { caller: nobody });
  t.teardown(() => restored.close());
  const st = statSync(`/proc/self/fd/${fdOf(restored, 0, 'slave')}`);
  t.equal(st.uid, nobody.uid, 'the pts node belongs to the caller, not to root');
  t.equal(st.mode & 0o7777, 0o620, 'with the mode of the image');
});
