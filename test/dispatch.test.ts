// The dispatcher on its own, in process: error codes for every kind of failure, a bug that
// leaves the dispatcher working, fds that arrive with a request closed, the stop.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { Dispatcher } from '../daemon/server/dispatch.js';
import { allHandlers, discoverMethod } from '../daemon/server/methods/index.js';
import { RestoreTable } from '../daemon/server/restores.js';
import { CheckpointStore } from '../daemon/store/store.js';
import { SysError } from '../daemon/sys/errors.js';
import { getfd } from '../daemon/sys/fd.js';
import { openPtmx } from '../daemon/sys/pty.js';
import * as engine from '../daemon/tty/index.js';
import type { Logger } from '../daemon/log.js';

const root = { pid: process.pid, uid: 0, gid: 0 };

async function makeDispatcher(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-dispatch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const errors: string[] = [];
  const log: Logger = {
    error: (message, fields) => errors.push(`${message} ${String(fields?.method)}`),
    warn: () => {},
    info: () => {},
    debug: () => {},
  };

  const store = await CheckpointStore.open(dir);
  const restores = new RestoreTable({ ttlSeconds: 300 });
  t.teardown(() => restores.closeAll());
  const server = {
    socket: '/nowhere',
    stateDir: dir,
    connections: () => 0,
    limits: {
      maxLineBytes: 1,
      maxConnections: 1,
      idleSeconds: 1,
      restoreTtlSeconds: 300,
      maxRestoresPerUid: 64,
      maxPtysPerUid: 256,
      maxCheckpointsPerUid: 256,
    },
  };
  const handlers = allHandlers({
    version: '0.0.0',
    startedAt: new Date(),
    store,
    restores,
    engine,
    server,
    log,
  });
  handlers['restore.list'] = () => {
    throw new TypeError('a bug');
  };
  handlers['checkpoint.list'] = () => {
    throw new SysError('open', 24, '/proc/1/fd');
  };
  const dispatcher = new Dispatcher({ handlers, discover: discoverMethod('0.0.0'), log });
  return { dispatcher, errors };
}

async function call(dispatcher: Dispatcher, line: string, fds: number[] = []) {
  const reply = await dispatcher.handle(line, fds, root);
  return reply.reply === null ? null : JSON.parse(reply.reply);
}

const request = (method: string, params?: unknown, id: unknown = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params });

t.test('dispatch [error codes]', async (t) => {
  const { dispatcher, errors } = await makeDispatcher(t);

  t.equal((await call(dispatcher, '{')).error.code, -32700, 'bad JSON [-32700]');
  t.equal((await call(dispatcher, '"x"')).error.code, -32600, 'a string [-32600]');
  t.equal((await call(dispatcher, '[]')).error.code, -32600, 'an empty batch [-32600]');
  const badId = await call(dispatcher, '{"jsonrpc":"2.0","id":{},"method":"daemon.status"}');
  t.equal(badId.error.code, -32600, 'an object id [-32600]');
  t.equal((await call(dispatcher, request('nope'))).error.code, -32601, 'unknown [-32601]');
  t.equal(
    (await call(dispatcher, request('constructor'))).error.code,
    -32601,
    'no prototype names',
  );

  const params = await call(dispatcher, request('checkpoint.get', { id: 'UPPER' }));
  t.equal(params.error.code, -32602, 'bad params [-32602]');
  t.equal(params.error.data.issues[0].message, 'not a checkpoint id', 'bad params [zod issue]');
  const positional = await call(dispatcher, request('checkpoint.get', ['x']));
  t.equal(positional.error.code, -32602, 'positional params [-32602]');

  const notFound = await call(dispatcher, request('checkpoint.get', { id: 'abc' }));
  t.same([notFound.error.code, notFound.error.data.reason], [-32001, 'NOT_FOUND'], 'TtycrError');

  const sys = await call(dispatcher, request('checkpoint.list', {}));
  t.same(
    [sys.error.code, sys.error.data.reason, sys.error.data.errno],
    [-32010, 'SYSCALL_FAILED', 'EMFILE'],
    'SysError [SYSCALL_FAILED with the errno name]',
  );

  const bug = await call(dispatcher, request('restore.list', {}));
  t.equal(bug.error.code, -32603, 'a bug [-32603]');
  t.match(bug.error.message, /restore\.list/, 'a bug [names the method]');
  t.same(
    errors.filter((e) => e.startsWith('internal error')),
    ['internal error restore.list'],
    'a bug [logged once]',
  );
  const after = await call(dispatcher, request('daemon.status', {}));
  t.equal(after.result.version, '0.0.0', 'the dispatcher still answers after a bug');
});

t.test('dispatch [notifications, batches, fds in]', async (t) => {
  const { dispatcher } = await makeDispatcher(t);

  t.equal(await call(dispatcher, '{"jsonrpc":"2.0","method":"daemon.status"}'), null, 'no reply');
  const claim = '{"jsonrpc":"2.0","method":"restore.claim","params":{"id":"r-x","task":1}}';
  t.equal(await call(dispatcher, claim), null, 'a claim without id is not executed');

  const batch = await call(
    dispatcher,
    `[${request('daemon.status', {}, 'a')},${request('nope', {}, 'b')}]`,
  );
  t.same(batch.map((r: { id: string }) => r.id).sort(), ['a', 'b'], 'a batch gets an array');

  const unwanted = openPtmx('/dev/ptmx');
  await call(dispatcher, request('daemon.status', {}), [unwanted]);
  t.throws(() => getfd(unwanted), /EBADF/, 'fds sent with a request are closed');
});

t.test('dispatch [stop]', async (t) => {
  const { dispatcher } = await makeDispatcher(t);
  const inFlight = dispatcher.handle(request('daemon.status', {}), [], root);
  const drained = dispatcher.drain();
  const late = await call(dispatcher, request('daemon.status', {}, 2));
  t.equal(late.error.data.reason, 'SHUTTING_DOWN', 'a request during the stop [SHUTTING_DOWN]');
  t.ok(JSON.parse((await inFlight).reply!).result, 'the request in flight is answered');
  await drained;
  t.equal(dispatcher.pending, 0, 'nothing in flight after drain');
});
