// A line echo server for bench/transport.ts, run as its own process: `ours PATH` over
// the project's Listener, or `net PATH` over Node's net. Prints "ready" once it listens and
// stops when its stdin closes.

import { createServer } from 'node:net';

import { Listener } from '../daemon/server/listener.js';

const [kind, path] = process.argv.slice(2);

if (kind === 'ours') {
  const listener = Listener.listen(path!, {
    onConnection: (conn) => {
      conn.onLine = (line) => void conn.send(line.text);
    },
  });
  process.stdin.on('close', () => void listener.close());
} else {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(path!, () => process.stdout.write('ready\n'));
  process.stdin.on('close', () => {
    server.close();
    process.exit(0);
  });
}
if (kind === 'ours') process.stdout.write('ready\n');
process.stdin.resume();
