// Bad input over the real socket: each answered with its JSON-RPC code while the same
// connection keeps working; an overlong line gets an error and a close, never a crash.

import t from 'tap';

import { RpcClient, startDaemon } from './helpers/daemon.js';

t.test('bad input [answered, connection stays usable]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  await client.call('daemon.status');
  const baseline = daemon.fdCount();

  const parse = await client.send('{"jsonrpc": "2.0", "id": 1, "method"');
  t.equal(parse.error?.code, -32700, 'bad JSON [-32700]');

  const request = await client.send('{"jsonrpc":"1.0","id":7,"method":"daemon.status"}', 7);
  t.equal(request.error?.code, -32600, 'not JSON-RPC 2.0 [-32600]');
  const notObject = await client.send('42');
  t.equal(notObject.error?.code, -32600, 'a number [-32600]');

  const unknown = await client.call('checkpoint.explode');
  t.equal(unknown.error?.code, -32601, 'unknown method [-32601]');

  const params = await client.call('checkpoint.create', { pids: [-3] });
  t.equal(params.error?.code, -32602, 'bad params [-32602]');
  t.equal(params.error?.data?.issues?.[0]?.path?.[0], 'pids', 'bad params [zod issues in data]');
  const extra = await client.call('daemon.status', { verbose: true });
  t.equal(extra.error?.code, -32602, 'unknown param [-32602]');

  const missing = await client.call('checkpoint.create', { pids: [0x3ffffff0] });
  t.equal(missing.error?.code, -32002, 'missing process [-32002]');
  t.equal(missing.error?.data?.reason, 'NO_SUCH_PROCESS', 'missing process [reason]');

  const notFound = await client.call('restore.claim', { id: 'r-nothere', task: 1 });
  t.equal(notFound.error?.data?.reason, 'NOT_FOUND', 'unknown restore [NOT_FOUND]');

  const batch = await client.send(
    '[{"jsonrpc":"2.0","id":"a","method":"restore.claim","params":{"id":"r-x","task":0}}]',
  );
  t.equal(batch.error?.code, -32600, 'claim in a batch [-32600]');

  const status = await client.call('daemon.status');
  t.equal(status.result?.pid, daemon.pid, 'the same connection still answers');
  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
});

t.test('bad input [2 MiB line]', async (t) => {
  const daemon = await startDaemon();
  t.teardown(() => daemon.cleanup());
  // The baseline has no connection open: by the end, both clients below have gone.
  const before = daemon.fdCount();
  const warm = await RpcClient.connect(daemon.socket);
  await warm.call('daemon.status');
  warm.close();
  const baseline = await daemon.settledFdCount(before);

  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());
  const name = 'x'.repeat(2 << 20);
  const refusal = client.unsolicited().catch(() => null);
  const huge = client.call('checkpoint.create', { pids: [1], name }).catch(() => null);

  // The daemon answers LIMIT_EXCEEDED and closes; the client, still writing, may see EPIPE
  // first and drop that line, so either a refusal or a close is the right outcome.
  await client.closed();
  const reason = (await refusal)?.error?.data?.reason ?? 'closed';
  t.match(reason, /^(LIMIT_EXCEEDED|closed)$/, 'overlong line [refused and closed]');
  t.equal(await huge, null, 'overlong line [never executed]');

  const again = await RpcClient.connect(daemon.socket);
  t.teardown(() => again.close());
  const status = await again.call('daemon.status');
  t.equal(status.result?.pid, daemon.pid, 'a new connection is answered');
  again.close();
  t.equal(await daemon.settledFdCount(baseline), baseline, 'daemon fds back to baseline');
});

t.test('bad input [2 MiB line under a raised limit]', async (t) => {
  const daemon = await startDaemon({ args: ['--max-line-bytes', String(4 << 20)] });
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());

  const name = 'x'.repeat(2 << 20);
  const reply = await client.call('checkpoint.create', { pids: [1], name });
  t.equal(reply.error?.code, -32602, 'a 2 MiB name [-32602: too long]');
  const status = await client.call('daemon.status');
  t.equal(status.result?.limits?.maxLineBytes, 4 << 20, 'the same connection still answers');
});
