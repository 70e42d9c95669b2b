// /proc refusing the daemon a look at a task's fds or root: a daemon without CAP_SYS_PTRACE, as
// root, may not follow the fd links of a root task that has more capabilities than it has. That
// is PERMISSION_DENIED naming the pid and fd (exit 77), not an internal error.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import t, { type Test } from 'tap';

import { ttycr } from './helpers/cli.js';
import { RpcClient } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';
import { checkpointHolder } from './helpers/scenario.js';

const mainTs = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

/** A ttycrd without CAP_SYS_PTRACE (setpriv drops it from the bounding set before exec). */
async function startDaemonWithoutPtrace(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-noptrace-'));
  const socket = join(dir, 'ttycrd.sock');
  const args = ['--socket', socket, '--state-dir', join(dir, 'state'), '--log-format', 'json'];
  const proc = spawn(
    'setpriv',
    ['--bounding-set=-sys_ptrace', process.execPath, ...process.execArgv, mainTs, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  t.teardown(async () => {
    proc.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  const logs: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`ttycrd exited with ${code}`)));
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.message === 'serving') resolve();
      });
    }
  });
  const caps = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'latin1'));
  const CAP_SYS_PTRACE = 19n;
  t.equal(BigInt(`0x${caps![1]}`) & (1n << CAP_SYS_PTRACE), 0n, 'the daemon lacks CAP_SYS_PTRACE');
  return { socket, logs };
}

function taskState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

t.test('checkpoint [a task whose fds the daemon may not look at]', async (t) => {
  const daemon = await startDaemonWithoutPtrace(t);
  const holder = await startHolder({ ptys: [{}] });
  t.teardown(() => holder.kill());

  const run = await ttycr(daemon.socket, ['checkpoint', String(holder.pid)]);
  t.equal(run.code, 77, 'not permitted: exit 77');
  t.match(
    run.stderr,
    new RegExp(
      `^ttycr: PERMISSION_DENIED: .*may not look at fd \\d+ of pid ${holder.pid}: ` +
        `stat /proc/${holder.pid}/fd/\\d+: EACCES \\(.+\\)\\n$`,
    ),
    'one line naming the pid, the fd, the call and the errno',
  );
  t.notMatch(run.stderr, /internal error/, 'not an internal error');
  t.match(
    daemon.logs.filter((entry) => entry.message === 'request failed'),
    [{ level: 'info', reason: 'PERMISSION_DENIED', method: 'checkpoint.create' }],
    'logged at info, as a refusal',
  );
  t.not(taskState(holder.pid), 'T', 'the task runs again after the refusal');
});

t.test("restore --ptmx [in a task's root the daemon may not enter]", async (t) => {
  const daemon = await startDaemonWithoutPtrace(t);
  const { checkpoint } = await checkpointHolder({ ptys: [{}] });
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const id = (await client.call('checkpoint.import', { checkpoint })).result.id as string;

  const ptmx = `/proc/${process.pid}/root/dev/ptmx`;
  const run = await ttycr(daemon.socket, ['restore', id, '--ptmx', ptmx]);
  t.equal(run.code, 77, 'not permitted: exit 77');
  t.match(
    run.stderr,
    `may not restore through ${ptmx}: open /proc/${process.pid}/root: EACCES`,
    'says plainly which ptmx may not be used, and why',
  );
});
