// Line limits: the client takes big replies (show, export); the daemon's limit bounds requests,
// and an import over it is told which setting to raise.

import t from 'tap';

import { connect } from '../client/connection.js';
import { Listener } from '../daemon/server/listener.js';
import { RpcClient, startDaemon } from './helpers/daemon.js';
import { LineQueue, closed, fdTest, socketDir } from './helpers/transport.js';

fdTest(t, 'reply limit [a 3 MiB reply reaches the client whole]', async (t) => {
  const { dir, remove } = socketDir();
  t.teardown(remove);
  const big = 'r'.repeat(3 << 20);
  const listener = Listener.listen(`${dir}/s`, {
    onConnection: (conn) => {
      conn.onLine = () => void conn.send(big);
    },
  });
  const client = await connect(`${dir}/s`);
  const got = new LineQueue(client);

  client.send('export');
  t.equal((await got.next()).text.length, big.length, 'the whole line came');

  client.destroy();
  await closed(client);
  await listener.close();
});

t.test('reply limit [an import over --max-line-bytes names the setting]', async (t) => {
  const daemon = await startDaemon({ args: ['--max-line-bytes', '4096'] });
  t.teardown(() => daemon.cleanup());
  const client = await RpcClient.connect(daemon.socket);
  t.teardown(() => client.close());

  const refusal = client.unsolicited();
  void client
    .call('checkpoint.import', { checkpoint: { pad: 'i'.repeat(16_000) } })
    .catch(() => {});
  const reply = await refusal;

  t.equal(reply.error?.data?.reason, 'LIMIT_EXCEEDED', 'refused as LIMIT_EXCEEDED');
  t.match(reply.error?.message, /--max-line-bytes/, 'the message names the setting');
  t.match(reply.error?.message, /checkpoint\.import/, 'and says an import is one line');
});
