// Log levels of failed requests: the client's mistakes at info, the daemon's failures at error.

import t from 'tap';

import { TtycrError } from '../rpc-schema/errors.js';
import { Dispatcher } from '../daemon/server/dispatch.js';
import type { Handlers } from '../daemon/server/methods/index.js';
import { SysError } from '../daemon/sys/errors.js';
import type { Logger } from '../daemon/log.js';

const root = { pid: process.pid, uid: 0, gid: 0 };

t.test('log levels [NOT_FOUND at info, a failed syscall and a bug at error]', async (t) => {
  const logged: [string, unknown][] = [];
  const log: Logger = {
    error: (message, fields) => void logged.push(['error', fields?.reason ?? message]),
    warn: (message, fields) => void logged.push(['warn', fields?.reason ?? message]),
    info: (message, fields) => void logged.push(['info', fields?.reason ?? message]),
    debug: () => {},
  };
  let failure: unknown = null;
  const handlers = new Proxy({} as Handlers, {
    get: () => () => {
      throw failure;
    },
  });
  const dispatcher = new Dispatcher({ handlers, discover: () => ({}), log });
  const call = (method: string) =>
    dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} }), [], root);

  failure = new TtycrError('NOT_FOUND', 'no checkpoint x');
  await call('daemon.status');
  failure = new SysError('open', 13, '/dev/ptmx');
  await call('daemon.status');
  failure = new Error('a bug');
  await call('daemon.status');

  t.same(logged, [
    ['info', 'NOT_FOUND'],
    ['error', 'SYSCALL_FAILED'],
    ['error', 'internal error'],
  ]);
});
