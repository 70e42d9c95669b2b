// The files in systemd/ as systemd reads them: the units verify without a word on stderr
// (systemd-analyze exits 0 on unknown keys, so silence is the test), the service's exposure is
// at most what the README states, its sandbox keeps what ttycrd needs, and the sysusers and
// tmpfiles snippets make the group and directories in a scratch root.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

const systemdDir = fileURLToPath(new URL('../systemd/', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const service = readFileSync(join(systemdDir, 'ttycrd.service'), 'utf8');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Run {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every value of `key` in the unit text (a key may be given more than once). */
function values(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/**
 * Both units copied into a fresh directory, ExecStart pointing at this node binary (verify
 * insists the program exists), the rest as shipped. `edit` may change the service text.
 */
function unitCopy(edit: (text: string) => string = (text) => text): string {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-units-'));
  copyFileSync(join(systemdDir, 'ttycrd.socket'), join(dir, 'ttycrd.socket'));
  const text = service.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`);
  writeFileSync(join(dir, 'ttycrd.service'), edit(text));
  return dir;
}

function verify(dir: string): Run {
  return run('systemd-analyze', [
    'verify',
    '--man=no',
    join(dir, 'ttycrd.socket'),
    join(dir, 'ttycrd.service'),
  ]);
}

/** The system calls a SystemCallFilter= list allows, its @groups expanded as systemd does. */
function expandFilter(entries: string[]): Set<string> {
  // `systemd-analyze syscall-filter` prints each group, then its members (calls or groups).
  const groups = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of run('systemd-analyze', ['syscall-filter']).stdout.split('\n')) {
    if (line.startsWith('@')) groups.set(line.trim(), (current = []));
    else if (/^\s+[@a-z_0-9-]+$/.test(line)) current.push(line.trim());
  }

  const allowed = new Set<string>();
  const add = (entry: string): void => {
    if (!entry.startsWith('@')) allowed.add(entry);
    else for (const member of groups.get(entry) ?? []) add(member);
  };
  for (const entry of entries) add(entry);
  return allowed;
}

t.test('systemd units [verify says nothing]', async (t) => {
  const dir = unitCopy();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const result = verify(dir);

  t.equal(result.stderr, '', 'nothing on stderr');
  t.equal(result.stdout, '', 'nothing on stdout');
  t.equal(result.status, 0, 'exit 0');
});

t.test('systemd units [verify would tell an unknown key]', async (t) => {
  // The check above is only worth something if a mistake does print: prove it once.
  const dir = unitCopy((text) => text.replace('[Service]\n', '[Service]\nProtectEverything=yes\n'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.match(verify(dir).stderr, /Unknown key/, 'an unknown key reaches stderr');
});

t.test('systemd units [the ExecStart is where the README installs ttycrd]', async (t) => {
  const [execStart] = values(service, 'ExecStart');
  const program = execStart?.split(' ')[0] ?? '';

  t.equal(program, '/usr/local/bin/ttycrd', 'ExecStart runs /usr/local/bin/ttycrd');
  t.match(readFileSync(readme, 'utf8'), program, 'README.md names the same path');
});

t.test('systemd units [exposure at most what the README states]', async (t) => {
  const result = run('systemd-analyze', [
    'security',
    '--offline=true',
    join(systemdDir, 'ttycrd.service'),
  ]);
  const exposure = /Overall exposure level for ttycrd\.service: (\d+\.\d+)/.exec(result.stdout);
  const text = readFileSync(readme, 'utf8');
  const section = text.slice(text.indexOf('## Install with systemd'));
  const stated = /exposure[^\n]*?(\d+\.\d+)/i.exec(section);

  t.ok(exposure, `systemd-analyze prints the exposure (stderr: ${result.stderr})`);
  t.ok(stated, 'the README install section states an exposure');
  t.ok(
    Number(exposure?.[1]) <= Number(stated?.[1]),
    `exposure ${exposure?.[1]} is at most the README's ${stated?.[1]}`,
  );
});

t.test('systemd units [capabilities are the six kernel checks]', async (t) => {
  const caps = values(service, 'CapabilityBoundingSet').join(' ').split(/\s+/).sort();

  t.same(
    caps,
    ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'],
    'CapabilityBoundingSet',
  );
  for (const cap of caps)
    t.match(service, new RegExp(`^#\\s+${cap}\\s+\\S`, 'm'), `${cap} explained`);
});

t.test('systemd units [the sandbox leaves what ttycrd needs]', async (t) => {
  t.same(values(service, 'Type'), ['notify'], 'Type=notify');
  t.same(values(service, 'RestrictAddressFamilies'), ['AF_UNIX'], 'AF_UNIX only');
  t.same(values(service, 'DevicePolicy'), ['closed'], 'DevicePolicy=closed');
  const devices = values(service, 'DeviceAllow');
  t.ok(devices.includes('/dev/ptmx rw'), 'DeviceAllow /dev/ptmx');
  t.ok(devices.includes('char-pts rw'), 'DeviceAllow char-pts');
  t.same(values(service, 'PrivateDevices'), [], 'not PrivateDevices (it hides /dev/pts)');
  t.same(values(service, 'MemoryDenyWriteExecute'), [], "not MemoryDenyWriteExecute (Node's JIT)");
  t.same(values(service, 'ProtectProc'), [], 'not ProtectProc (other processes must show)');
  t.same(values(service, 'ProcSubset'), [], 'not ProcSubset (/proc/PID must show)');

  const allowed = expandFilter(values(service, 'SystemCallFilter').join(' ').split(/\s+/));
  for (const call of [
    'pidfd_getfd',
    'pidfd_open',
    'kcmp',
    'ptrace',
    'ioctl',
    'sendmsg',
    'recvmsg',
  ]) {
    t.ok(allowed.has(call), `SystemCallFilter allows ${call}`);
  }
});

t.test('systemd units [sysusers and tmpfiles in a scratch root]', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ttycrd-root-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');

  const users = run('systemd-sysusers', [`--root=${root}`, join(systemdDir, 'ttycr.sysusers')]);
  t.equal(users.status, 0, `systemd-sysusers (stderr: ${users.stderr})`);
  const group = readFileSync(join(root, 'etc/group'), 'utf8')
    .split('\n')
    .find((line) => line.startsWith('ttycr:'));
  t.ok(group, 'group ttycr made');
  const gid = Number(group?.split(':')[2]);

  const files = run('systemd-tmpfiles', [
    '--create',
    `--root=${root}`,
    join(systemdDir, 'ttycrd.tmpfiles'),
  ]);
  t.equal(files.status, 0, `systemd-tmpfiles --create (stderr: ${files.stderr})`);
  const runDir = statSync(join(root, 'run/ttycrd'));
  t.equal(runDir.mode & 0o7777, 0o750, '/run/ttycrd 0750');
  t.same([runDir.uid, runDir.gid], [0, gid], '/run/ttycrd root:ttycr');
  const stateDir = statSync(join(root, 'var/lib/ttycrd'));
  t.equal(stateDir.mode & 0o7777, 0o700, '/var/lib/ttycrd 0700');
  t.same([stateDir.uid, stateDir.gid], [0, 0], '/var/lib/ttycrd root:root');
});
