// ttycrd's configuration: the defaults for root and for users, the order in which a config
// file, TTYCRD_* and flags override them, one-line errors, and exit code 2 from the real binary.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import t from 'tap';

import { ConfigError, loadConfig } from '../daemon/config.js';

const run = promisify(execFile);
const mainTs = fileURLToPath(new URL('../daemon/main.ts', import.meta.url));

t.test('config [defaults]', async (t) => {
  const root = loadConfig({ env: {}, uid: 0, flags: {} });
  t.equal(root.socket, '/run/ttycrd/ttycrd.sock', 'root socket');
  t.equal(root.stateDir, '/var/lib/ttycrd', 'root state');
  t.equal(root.restoreTtl, 300, 'restore ttl 300 s');

  const env = { XDG_RUNTIME_DIR: '/run/user/1000', XDG_STATE_HOME: '/home/u/.st', HOME: '/home/u' };
  const user = loadConfig({ env, uid: 1000, flags: {} });
  t.equal(user.socket, '/run/user/1000/ttycrd/ttycrd.sock', 'user socket under XDG_RUNTIME_DIR');
  t.equal(user.stateDir, '/home/u/.st/ttycrd', 'user state under XDG_STATE_HOME');
  const bare = loadConfig({ env: { HOME: '/home/u' }, uid: 1000, flags: {} });
  t.equal(bare.stateDir, '/home/u/.local/state/ttycrd', 'user state without XDG_STATE_HOME');
});

t.test('config [file, then env, then flags]', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'ttycrd.json');
  writeFileSync(file, JSON.stringify({ restoreTtl: 10, logLevel: 'debug', stateDir: '/srv/a' }));

  const env = { TTYCRD_CONFIG: file, TTYCRD_RESTORE_TTL: '20', TTYCRD_LOG_FORMAT: 'json' };
  const config = loadConfig({ env, uid: 0, flags: { restoreTtl: '30', socket: '/tmp/s.sock' } });
  t.equal(config.logLevel, 'debug', 'from the file');
  t.equal(config.logFormat, 'json', 'from the environment');
  t.equal(config.restoreTtl, 30, 'flags win');
  t.equal(config.socket, '/tmp/s.sock', 'flag');
  t.equal(config.stateDir, '/srv/a', 'file over default');
});

t.test('config [bad values]', async (t) => {
  const bad = (env: Record<string, string>, flags: Record<string, unknown> = {}) => {
    try {
      loadConfig({ env, uid: 0, flags });
      return 'no error';
    } catch (err) {
      return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
    }
  };
  t.match(
    bad({}, { restoreTtl: 'soon' }),
    /^invalid configuration: restoreTtl \(from --restore-ttl\)/,
    'a word for a number',
  );
  t.match(
    bad({ TTYCRD_SOCKET: 'relative.sock' }),
    /socket \(from TTYCRD_SOCKET\): must be an absolute path/,
    'a relative path',
  );
  t.match(bad({}, { logLevel: 'loud' }), /logLevel/, 'an unknown level');
  t.match(
    bad({ TTYCRD_CONFIG: '/nonexistent/ttycrd.json' }),
    /cannot read config file/,
    'a missing file',
  );
  t.notMatch(bad({}, { restoreTtl: '0' }), /no error/, 'a zero ttl');
});

t.test('config [ttycrd exits 2 with one line]', async (t) => {
  const failed = await run(process.execPath, [...process.execArgv, mainTs, '--restore-ttl', 'x'])
    .then(() => ({ code: 0, stderr: '' }))
    .catch((err: { code: number; stderr: string }) => err);
  t.equal(failed.code, 2, 'exit code 2');
  t.match(
    failed.stderr,
    /^ttycrd: invalid configuration: restoreTtl \(from --restore-ttl\): .*\n$/,
    'one line',
  );
});
