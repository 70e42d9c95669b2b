// `ttycr export` and `ttycr import` through the CLI: a checkpoint moves through a tar file that
// only root can read, comes back whole under a new id, and a tar that is not an export is refused
// without writing anything outside the import's own scratch directory.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import type { Result } from '../rpc-schema/methods.js';
import { ttycr, ttycrJson } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { startHolder } from './helpers/holder.js';

t.test('export and import [a checkpoint through a private tar file]', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-export-test-'));
  const daemon = await startDaemon();
  const holder = await startHolder({
    ptys: [{ winsize: { rows: 43, cols: 132, xpixel: 7, ypixel: 9 } }, { keep: 'master' }],
  });
  t.teardown(async () => {
    await holder.kill();
    await daemon.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const made = await ttycrJson<Result<'checkpoint.create'>>(daemon.socket, [
    'checkpoint',
    String(holder.pid),
  ]);

  // A file that exists already, readable by all, is made private before the image goes in.
  const file = join(dir, 'moved.tar');
  writeFileSync(file, 'old contents', { mode: 0o644 });
  const exported = await ttycr(daemon.socket, ['export', made.id, file]);
  t.equal(exported.code, 0, `export exits 0 (${exported.stderr.trim()})`);
  t.equal(statSync(file).mode & 0o777, 0o600, 'the tar file is 0600, like the image in the store');

  const imported = await ttycr(daemon.socket, ['import', file, '--name', 'moved']);
  t.equal(imported.code, 0, `import exits 0 (${imported.stderr.trim()})`);
  const id = imported.stdout.trim();
  t.not(id, made.id, 'it is stored under a new id');

  const [before, after] = await Promise.all(
    [made.id, id].map((c) =>
      ttycrJson<Result<'checkpoint.get'>>(daemon.socket, ['--json', 'show', c]),
    ),
  );
  const strip = ({ id: _id, name: _name, createdAt: _at, ...rest }: Record<string, unknown>) =>
    rest;
  t.same(strip(after!.checkpoint), strip(before!.checkpoint), 'the image came back whole');
  t.equal(after!.checkpoint.name, 'moved', 'with the new name');
});

t.test('import [a tar that is not an export]', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-import-test-'));
  const daemon = await startDaemon();
  t.teardown(async () => {
    await daemon.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const before = await ttycrJson<Result<'checkpoint.list'>>(daemon.socket, ['list']);

  // An entry that climbs out of the extraction directory, and no checkpoint.json.
  const inner = join(dir, 'a', 'b');
  execFileSync('mkdir', ['-p', inner]);
  writeFileSync(join(dir, 'a', 'escaped'), 'x');
  const evil = join(dir, 'evil.tar');
  execFileSync('tar', ['-cf', evil, '-C', inner, '--absolute-names', '../escaped']);
  rmSync(join(dir, 'a', 'escaped'));

  const run = await ttycr(daemon.socket, ['import', evil]);
  t.equal(run.code, 2, 'a usage error');
  t.match(run.stderr, /is not a ttycr export: no checkpoint\.json in it/, 'saying why');
  t.notOk(existsSync(join(tmpdir(), 'escaped')), 'nothing was written outside its directory');

  const notTar = join(dir, 'plain.txt');
  writeFileSync(notTar, 'hello\n');
  const plain = await ttycr(daemon.socket, ['import', notTar]);
  t.equal(plain.code, 2, 'a file that is no tar at all is a usage error too');
  t.match(plain.stderr, /plain\.txt is not a ttycr export: not a tar file/, 'saying so');

  const missing = await ttycr(daemon.socket, ['import', join(dir, 'nothing.tar')]);
  t.equal(missing.code, 2, 'so is a file that does not exist');
  t.match(missing.stderr, /cannot read .*nothing\.tar: ENOENT/, 'naming the file and errno');

  const after = await ttycrJson<Result<'checkpoint.list'>>(daemon.socket, ['list']);
  t.same(after, before, 'no checkpoint was stored');
});
