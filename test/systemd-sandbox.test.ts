// ttycrd inside the limits ttycrd.service sets, as far as they can be set without systemd as
// pid 1: only the unit's capabilities (bounding set) and no new privileges, under strace. A
// checkpoint, a restore and a claim must work there, and every system call the daemon made
// must be one the unit's SystemCallFilter= allows, or systemd would refuse it with EPERM.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { close, fstat } from '../daemon/sys/fd.js';
import { getLockedTermios } from '../daemon/sys/termios.js';
import { RpcClient } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

const ECHO = 0o10; // asm-generic/termbits.h
const NOBODY = 65534;
const TTY_GID = 5;
const mainTs = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));
const service = readFileSync(new URL('../systemd/ttycrd.service', import.meta.url), 'utf8');

/** Every value of `key` in the unit, its words split apart. */
function words(key: string): string[] {
  return service
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .flatMap((line) => line.slice(key.length + 1).split(/\s+/));
}

/** The system calls SystemCallFilter= allows, its @groups expanded as systemd prints them. */
function allowedCalls(): Set<string> {
  const groups = new Map<string, string[]>();
  let current: string[] = [];
  const out = spawnSync('systemd-analyze', ['syscall-filter'], { encoding: 'utf8' }).stdout;
  for (const line of out.split('\n')) {
    if (line.startsWith('@')) groups.set(line.trim(), (current = []));
    else if (/^\s+[@a-z_0-9-]+$/.test(line)) current.push(line.trim());
  }

  const allowed = new Set<string>();
  const add = (entry: string): void => {
    if (!entry.startsWith('@')) allowed.add(entry);
    else for (const member of groups.get(entry) ?? []) add(member);
  };
  for (const entry of words('SystemCallFilter')) add(entry);
  return allowed;
}

/**
 * The names of the system calls in an `strace -f -o` log from the exec of node on: setpriv's
 * own calls before it are made by systemd itself when it runs the unit.
 */
function callsIn(log: string): Set<string> {
  const lines = log.split('\n');
  const exec = lines.findIndex((line) => line.includes(`execve("${process.execPath}"`));
  const calls = new Set<string>();
  for (const line of lines.slice(exec)) {
    const call = /^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)(?:\(| resumed>)/.exec(line);
    if (call) calls.add(call[1]!);
  }
  return calls;
}

t.test('ttycrd.service sandbox [checkpoint, restore and claim inside it]', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-sandbox-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'ttycrd.sock');
  const trace = join(dir, 'strace.log');
  // CAP_SYS_PTRACE in the unit is +sys_ptrace to setpriv.
  const caps = words('CapabilityBoundingSet').map((c) => `+${c.slice(4).toLowerCase()}`);

  const traced = spawn(
    'strace',
    [
      ...['-f', '-qq', '-o', trace],
      ...['setpriv', `--bounding-set=-all,${caps.join(',')}`, '--no-new-privs'],
      ...[process.execPath, ...process.execArgv, mainTs],
      ...['--socket', socket, '--state-dir', join(dir, 'state'), '--log-format', 'json'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => traced.once('exit', resolve));
  let daemonPid = 0;
  t.teardown(async () => {
    if (traced.exitCode !== null || traced.signalCode !== null) return;
    if (daemonPid) process.kill(daemonPid, 'SIGKILL');
    traced.kill('SIGKILL');
    await exited;
  });
  const logs: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: traced.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.message === 'serving') {
        daemonPid = Number(entry.pid);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`ttycrd under strace exited with ${code}`)));
  });

  // Locked termios bits (CAP_SYS_ADMIN to restore) and a pts owned by nobody (CAP_CHOWN and
  // CAP_FOWNER to give it back), so that the restore needs the unit's capabilities.
  const holder = await startHolder({
    ptys: [{ lockedTermios: { lflag: ECHO }, node: { uid: NOBODY, gid: TTY_GID, mode: 0o620 } }],
  });
  t.teardown(() => holder.kill());
  const client = await RpcClient.connect(socket);
  t.teardown(() => client.close());

  // Frozen, so that the trace sees the ptrace calls of a freeze too.
  const created = await client.call('checkpoint.create', { pids: [holder.pid], freeze: true });
  t.notOk(created.error, `checkpoint.create [${created.error?.message ?? 'no error'}]`);
  const started = await client.call('restore.start', {
    id: created.result?.id,
    indexPolicy: 'any',
  });
  t.notOk(started.error, `restore.start [${started.error?.message ?? 'no error'}]`);
  const claim = await client.call('restore.claim', { id: started.result?.id, task: holder.pid });
  t.notOk(claim.error, `restore.claim [${claim.error?.message ?? 'no error'}]`);
  t.ok(claim.fds.length > 0, 'restore.claim [fds arrive]');
  const slaveAt = claim.result?.fds.findIndex((f: { end: string }) => f.end === 'slave') ?? -1;
  const slave = claim.fds[slaveAt];
  t.ok(slave !== undefined, 'restore.claim [the pts arrives]');
  if (slave !== undefined) {
    t.equal(getLockedTermios(slave).lflag & ECHO, ECHO, 'locked ECHO restored');
    const st = fstat(slave);
    t.same([st.uid, st.gid], [NOBODY, TTY_GID], 'pts owner restored');
  }
  for (const fd of claim.fds) close(fd);
  client.close();

  process.kill(daemonPid, 'SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  t.notOk(
    logs.some((entry) => entry.level === 'error' || entry.level === 'warn'),
    'no warning or error logged',
  );

  const allowed = allowedCalls();
  const used = [...callsIn(readFileSync(trace, 'utf8'))].sort();
  t.ok(used.includes('pidfd_getfd'), 'the trace saw pidfd_getfd (the checkpoint took the fds)');
  t.ok(used.includes('ptrace'), 'and ptrace (the freeze seized the holder)');
  t.same(
    used.filter((call) => !allowed.has(call)),
    [],
    'every call the daemon made is allowed by SystemCallFilter=',
  );
});
