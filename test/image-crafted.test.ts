// A crafted image must never make a restore hand out an fd it closed (whose number the daemon
// may have reused for someone else's connection).

import t from 'tap';

import { CheckpointSchema } from '../rpc-schema/image.js';
import { checkpointHolder, openFdCount, restoreIt } from './helpers/scenario.js';

t.test('image [a hung-up pty with a master file is refused]', async (t) => {
  const { checkpoint } = await checkpointHolder({ ptys: [{}] });
  const crafted = { ...checkpoint, ttys: [{ ...checkpoint.ttys[0]!, hungUp: true }] };

  const parsed = CheckpointSchema.safeParse(crafted);
  t.notOk(parsed.success, 'the schema refuses it');
  t.match(parsed.error?.issues[0]?.message, /hung up but has a master file/, 'saying why');

  const fds = openFdCount();
  t.throws(
    () => restoreIt(crafted),
    { reason: 'IMAGE_CORRUPT', message: /not restored/ },
    'the engine refuses it too',
  );
  t.equal(openFdCount(), fds, 'and holds nothing after');
});

t.test('image [masterHeld must match the files, fd numbers are unique]', async (t) => {
  const { checkpoint } = await checkpointHolder({ ptys: [{}] });
  const orphan = { ...checkpoint, ttys: [{ ...checkpoint.ttys[0]!, masterHeld: false }] };
  t.match(
    CheckpointSchema.safeParse(orphan).error?.issues[0]?.message,
    /masterHeld does not match/,
    'masterHeld without its file',
  );
  const task = checkpoint.tasks[0]!;
  const twice = { ...checkpoint, tasks: [{ ...task, fds: [task.fds[0]!, task.fds[0]!] }] };
  t.match(
    CheckpointSchema.safeParse(twice).error?.issues[0]?.message,
    /has fd \d+ twice/,
    'one fd number twice',
  );
});
