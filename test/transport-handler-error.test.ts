// A bug in one connection's handling: that connection closes and is logged, the others go on.

import t from 'tap';

import { connectionPair } from '../client/connection.js';
import type { Logger } from '../daemon/log.js';
import { LineQueue, closed, fdTest } from './helpers/transport.js';

/** A logger that keeps what was logged at error. */
function errorLog(): { log: Logger; errors: Record<string, unknown>[] } {
  const errors: Record<string, unknown>[] = [];
  const ignore = () => {};
  const log = {
    error: (message: string, meta: Record<string, unknown> = {}) =>
      void errors.push({ message, ...meta }),
    warn: ignore,
    info: ignore,
    debug: ignore,
  } as Logger;
  return { log, errors };
}

fdTest(t, 'handler error [closes only its connection]', async (t) => {
  const { log, errors } = errorLog();
  const [a, b] = connectionPair(
    {},
    {
      maxLineBytes: 16,
      logger: log,
      goodbye: () => {
        throw new Error('goodbye broke');
      },
    },
  );
  const [c, d] = connectionPair();
  const echo = new LineQueue(c);
  d.onLine = (line) => void d.send(`echo ${line.text}`);

  a.send('a line longer than sixteen bytes');

  t.equal(await closed(b), 'error', 'the broken connection closed for an error');
  t.equal(errors.length, 1, 'one error logged');
  t.match(errors[0], { message: 'connection failed', fd: b.fd, error: 'goodbye broke' });
  c.send('still here');
  t.equal((await echo.next()).text, 'echo still here', 'another connection is still served');

  t.equal(await closed(a), 'end', 'the peer of the broken one sees it close');
  c.destroy();
  await closed(d);
});
