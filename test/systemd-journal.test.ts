// Logging to the journal: when JOURNAL_STREAM names ttycrd's stdout, as systemd sets it for
// StandardOutput=journal, each line starts with its syslog level (<6> info, <4> warn) so that
// journalctl -p can filter; when it names some other stream, lines are left as they are.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import t, { type Test } from 'tap';

const mainTs = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

/**
 * Runs ttycrd until it logged `serving` and the warning a dead NOTIFY_SOCKET gives, then stops
 * it; returns its output lines. `journal` decides whether JOURNAL_STREAM names its stdout (the
 * shell reads the pipe's device and inode before it execs) or a stream that is not it.
 */
async function daemonLines(t: Test, journal: boolean): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ttycrd-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stream = journal ? '$(stat -L -c %d:%i /proc/$$/fd/1)' : '1:1';
  const daemonArgs = ['--socket', join(dir, 'ttycrd.sock'), '--state-dir', join(dir, 'state')];

  const proc = spawn(
    '/bin/sh',
    [
      '-c',
      `JOURNAL_STREAM=${stream} exec "$@" 2>&1`,
      'sh',
      ...[process.execPath, ...process.execArgv, mainTs, ...daemonArgs],
    ],
    {
      // Nobody listens at this name: the READY=1 send fails, which the daemon logs as a warning.
      env: { ...process.env, NOTIFY_SOCKET: `@ttycr-test-nobody-${process.pid}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });

  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('sd_notify failed')) resolve();
    });
    void exited.then((code) =>
      reject(new Error(`ttycrd exited with ${code}: ${lines.join('\n')}`)),
    );
  });
  proc.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean stop');
  return lines;
}

t.test('journal [levels when stdout is the journal stream]', async (t) => {
  const lines = await daemonLines(t, true);

  t.match(
    lines.find((l) => l.includes('serving')),
    /^<6>info serving /,
    'info is <6>',
  );
  t.match(
    lines.find((l) => l.includes('sd_notify failed')),
    /^<4>warn /,
    'warn is <4>',
  );
  t.same(
    lines.filter((l) => !/^<[3467]>/.test(l)),
    [],
    'every line carries a level',
  );
});

t.test('journal [no levels when JOURNAL_STREAM names another stream]', async (t) => {
  const lines = await daemonLines(t, false);

  t.match(
    lines.find((l) => l.includes('serving')),
    /^\d{4}-\d\d-\d\dT\S+ info serving /,
    'as is',
  );
  t.same(
    lines.filter((l) => l.startsWith('<')),
    [],
    'no line has a level prefix',
  );
});
