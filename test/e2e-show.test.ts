// `ttycr show` and `--json` through the CLI: every tty with its kind, index, size and modes in
// the table, and JSON documents that match the method schemas.

import t from 'tap';

import { methods, type Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

// asm-generic/termbits.h
const ICANON = 0o2;
const ECHO = 0o10;

t.test('show [every tty, and --json matches the schemas]', async (t) => {
  const daemon = await startDaemon();
  const holder = await startHolder({
    ptys: [
      { winsize: { rows: 43, cols: 132, xpixel: 0, ypixel: 0 } },
      {
        winsize: { rows: 24, cols: 80, xpixel: 0, ypixel: 0 },
        termios: { lflagClear: ICANON | ECHO, cc: { 5: 7, 6: 3 } },
        packet: true,
      },
    ],
  });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
  });

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    '--name',
    'two ptys',
    String(holder.pid),
  ]);
  t.ok(methods['checkpoint.create'].result.safeParse(made).success, 'checkpoint --json parses');

  const shown = await ttycr(daemon.socket, ['show', made.id]);
  t.equal(shown.code, 0, 'show exits 0');
  const rows = shown.stdout.split('\n');
  for (const [i, expected] of [
    { index: holder.ptys[0]!.index, size: '132x43', modes: /canon echo/ },
    { index: holder.ptys[1]!.index, size: '80x24', modes: /packet/ },
  ].entries()) {
    const path = `/dev/pts/${expected.index}`;
    const row = rows.find((line) => line.includes(` ${path} `)) ?? '';
    t.match(row, new RegExp(`│ ${i} +│ pty +│ ${expected.index} +│`), `tty ${i}: kind and index`);
    t.match(row, ` ${expected.size} `, `tty ${i}: size`);
    t.match(row, expected.modes, `tty ${i}: modes`);
  }
  t.match(shown.stdout, /-icanon -echo .*min 3 time 7/, 'the termios column spells stty words');
  t.match(shown.stdout, `checkpoint ${made.id} (two ptys)`, 'the header names the checkpoint');

  const json = await ttycrJson(daemon.socket, ['show', made.id]);
  const parsed = methods['checkpoint.get'].result.safeParse(json);
  t.ok(parsed.success, `show --json matches checkpoint.get: ${parsed.error?.message ?? ''}`);

  const list = await ttycrJson(daemon.socket, ['list']);
  t.ok(methods['checkpoint.list'].result.safeParse(list).success, 'list --json parses');

  const status = await ttycrJson(daemon.socket, ['status']);
  t.ok(methods['daemon.status'].result.safeParse(status).success, 'status --json parses');

  await holder.kill();
  const restore = await ttycrJson(daemon.socket, ['restore', '--index-policy', 'any', made.id]);
  t.ok(methods['restore.start'].result.safeParse(restore).success, 'restore --json parses');

  const cancel = await ttycrJson<Result<'restore.cancel'>>(daemon.socket, [
    'cancel',
    (restore as Result<'restore.start'>).id,
  ]);
  t.ok(cancel.closed > 0, 'cancel closes what the restore held');
});

t.test('checkpoint [processes that hold no tty]', async (t) => {
  const daemon = await startDaemon();
  const holder = await startHolder({ ptys: [] });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
  });

  const run = await ttycr(daemon.socket, ['checkpoint', String(holder.pid)]);
  t.equal(run.code, 0, 'is no failure');
  t.equal(
    run.stderr,
    'ttycr: note: no tty found in 1 process; the checkpoint has none\n',
    'but says so on stderr',
  );
});
