import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

import t from 'tap';

import { dump } from '../daemon/tty/index.js';
import { startHolder } from './helpers/holder.js';

/** Every cgroup hierarchy here that can freeze: the v2 one, the v1 freezer, or both. */
const hierarchies = [
  { name: 'v2', dir: '/sys/fs/cgroup/unified', file: 'cgroup.freeze' },
  { name: 'v2', dir: '/sys/fs/cgroup', file: 'cgroup.freeze' },
  { name: 'v1', dir: '/sys/fs/cgroup/freezer', file: 'freezer.state' },
].filter(
  (h) => existsSync(h.dir) && (h.dir !== '/sys/fs/cgroup' || existsSync(`${h.dir}/cgroup.procs`)),
);

function frozen(dir: string, v2: boolean): boolean {
  if (v2) return /^frozen 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1'));
  return readFileSync(join(dir, 'freezer.state'), 'latin1').trim() === 'FROZEN';
}

for (const h of hierarchies) {
  t.test(`checkpoint [cgroup freezer, ${h.name}]`, async (t) => {
    const dir = join(h.dir, `ttycr-test-${process.pid}`);
    mkdirSync(dir);
    if (!existsSync(join(dir, h.file))) {
      // The root of a v2 hierarchy has no cgroup.freeze; its children do on kernels >= 5.2.
      rmdirSync(dir);
      t.fail(`${dir} has no ${h.file}`);
      return;
    }
    const holder = await startHolder({ ptys: [{}] });
    t.teardown(async () => {
      await holder.kill();
      rmdirSync(dir);
    });
    writeFileSync(join(dir, 'cgroup.procs'), String(holder.pid));
    const v2 = h.name === 'v2';

    const checkpoint = await dump([holder.pid], { id: 'cg', uid: 0, freezer: dir, data: true });
    t.equal(checkpoint.ttys.length, 1, 'the dump of the frozen task has its pty');
    t.equal(checkpoint.options.freeze, true, 'the image says the tasks were frozen');
    t.notOk(frozen(dir, v2), 'the cgroup is thawed after');

    writeFileSync(join(dir, h.file), v2 ? '1' : 'FROZEN');
    while (!frozen(dir, v2)) await new Promise((r) => setTimeout(r, 1));
    await dump([holder.pid], { id: 'cg2', uid: 0, freezer: dir });
    t.ok(frozen(dir, v2), 'a cgroup frozen before stays frozen');
    writeFileSync(join(dir, h.file), v2 ? '0' : 'THAWED');

    await dump([holder.pid], { id: 'cg3', uid: 0, freezer: dir, kill: true });
    const proc = holder.proc;
    if (proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit');
    t.equal(proc.signalCode, 'SIGKILL', '--kill ends the frozen task');
  });
}

t.test('checkpoint [a freezer outside /sys/fs/cgroup is refused]', async (t) => {
  await t.rejects(
    dump([process.pid], { id: 'x', uid: 0, freezer: '/tmp' }),
    { reason: 'PERMISSION_DENIED', message: /not under \/sys\/fs\/cgroup/ },
    'refused before anything is frozen',
  );
});
