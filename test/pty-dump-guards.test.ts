// What a dump refuses: the daemon's own pid, and a set in which a task exited while its files
// were read (they close one by one as it exits, and a dump skips an fd that vanished).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { closeQuietly, POLLIN, pollOne } from '../daemon/sys/fd.js';
import { pidfdOpen } from '../daemon/sys/pidfd.js';
import { dump } from '../daemon/tty/index.js';
import type { HolderInfo } from './helpers/holder-spec.js';

const fixture = fileURLToPath(new URL('./fixtures/holder.ts', import.meta.url));

const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]![0];

t.test('checkpoint [the daemon never checkpoints itself]', async (t) => {
  // No freeze: were the check gone, the dump would fail on its own rather than stop the test.
  await t.rejects(
    dump([process.pid], { id: 'self', uid: 0 }),
    { reason: 'PERMISSION_DENIED', message: `pid ${process.pid} is ttycrd itself` },
    'its own pid is refused',
  );
});

t.test('checkpoint [a task that exits during the dump fails it]', async (t) => {
  // The holder's parent is a sleep that never reaps it, so once killed it stays a zombie: its
  // /proc entry is there, its fds are gone, and only its pidfd says it exited.
  const spec = JSON.stringify({ ptys: [{}] });
  const fixtureArgs = [process.execPath, ...process.execArgv, fixture, spec];
  const quoted = fixtureArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const parent = spawn('sh', ['-c', `${quoted} & exec sleep 600`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => parent.kill('SIGKILL'));
  const rl = createInterface({ input: parent.stdout! });
  const holder = JSON.parse(await new Promise<string>((r) => rl.once('line', r))) as HolderInfo;
  rl.close();

  const zombie = dump([holder.pid], {
    id: 'gone',
    uid: 0,
    authorize: async () => {
      // Exited as a pidfd sees it: every thread gone, not only the leader shown as Z.
      const pidfd = pidfdOpen(holder.pid);
      process.kill(holder.pid, 'SIGKILL');
      while (!(pollOne(pidfd, POLLIN, 0) & POLLIN)) await new Promise((r) => setTimeout(r, 5));
      closeQuietly(pidfd);
      t.equal(state(holder.pid), 'Z', 'the holder is a zombie now');
    },
  });
  await t.rejects(
    zombie,
    { reason: 'NO_SUCH_PROCESS', message: `pid ${holder.pid} exited during the checkpoint` },
    'a task that exited after it was pinned fails the dump',
  );

  // A zombie found as it is (an unreaped child in a tree) holds no files: nothing is lost.
  const found = await dump([holder.pid], { id: 'zombie', uid: 0 });
  t.equal(found.ttys.length, 0, 'a task that was a zombie already is dumped with no ttys');
});
