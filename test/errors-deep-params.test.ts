// Params nested too deep are invalid params, refused before anything recurses over them (a
// stack overflow there was an internal error), and the connection goes on.

import t from 'tap';

import { MAX_PARAMS_DEPTH, nestsDeeper } from '../daemon/server/dispatch.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { checkpointHolder } from './helpers/scenario.js';

/** `levels` arrays, one inside the other, as JSON text. */
const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

t.test('params [nested 100000 deep, over the socket]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());

  // An image envelope is re-encoded as JSON before it is checked: that is where it overflowed.
  const image = `{"format":"ttycr-image","checkpoint":${nested(100_000)}}`;
  const request = `{"jsonrpc":"2.0","id":1,"method":"checkpoint.import","params":`;
  const deep = await client.send(`${request}{"checkpoint":${image}}}`, 1);
  t.match(
    deep.error,
    {
      code: -32602,
      message: new RegExp(
        `^invalid params for checkpoint.import: nested deeper than ${MAX_PARAMS_DEPTH}`,
      ),
      data: { maxDepth: MAX_PARAMS_DEPTH },
    },
    'invalid params, saying why',
  );

  const batch = `[{"jsonrpc":"2.0","id":2,"method":"daemon.status","params":${nested(100_000)}}]`;
  const inBatch = await client.send(batch);
  t.match(inBatch, { 0: { id: 2, error: { code: -32602 } } }, 'the same inside a batch');

  const status = await client.call('daemon.status');
  t.ok(status.result, 'the connection still answers');
  t.notOk(
    daemon.logs.some((entry) => entry.level === 'error'),
    'nothing logged as an error: the daemon did not fail',
  );

  const { checkpoint } = await checkpointHolder({ ptys: [{}] });
  const imported = await client.call('checkpoint.import', { checkpoint });
  t.ok(imported.result?.id, 'a real image is well within the limit', { error: imported.error });
});

t.test('nestsDeeper [counts levels of arrays and objects, any depth]', async (t) => {
  const chain = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
    return value;
  };
  t.equal(nestsDeeper(chain(MAX_PARAMS_DEPTH), MAX_PARAMS_DEPTH), false, 'at the limit: taken');
  t.equal(nestsDeeper(chain(MAX_PARAMS_DEPTH + 1), MAX_PARAMS_DEPTH), true, 'one more: refused');
  t.equal(nestsDeeper(chain(1_000_000), MAX_PARAMS_DEPTH), true, 'a million levels: no overflow');
  t.equal(nestsDeeper({ a: [1, 'x', null], b: {} }, 2), false, 'scalars and null add no level');
  t.equal(nestsDeeper(undefined, 1), false, 'no params at all');
});
