// DESIGN §6: `socat - UNIX-CONNECT:PATH` works for calls that carry no fds.

import { execFileSync, spawnSync } from 'node:child_process';

import t from 'tap';

import { startDaemon } from './helpers/daemon.js';

const socat = spawnSync('socat', ['-V']).status === 0;

t.test(
  'socat [an fd-less call and its reply]',
  { skip: !socat && 'socat is not installed' },
  async (t) => {
    const daemon = await startDaemon();
    t.teardown(() => daemon.cleanup());

    const request = '{"jsonrpc":"2.0","id":7,"method":"daemon.status","params":{}}\n';
    const out = execFileSync('socat', ['-t', '5', '-', `UNIX-CONNECT:${daemon.socket}`], {
      input: request,
      encoding: 'utf8',
    });
    const reply = JSON.parse(out.trim()) as { id: number; result: { pid: number } };
    t.equal(reply.id, 7, 'the reply answers the request');
    t.equal(reply.result.pid, daemon.pid, 'with the daemon status');

    const bad = execFileSync('socat', ['-t', '5', '-', `UNIX-CONNECT:${daemon.socket}`], {
      input: '{"jsonrpc":"2.0","id":8,"method":"no.such","params":{}}\n',
      encoding: 'utf8',
    });
    t.equal(JSON.parse(bad.trim()).error.code, -32601, 'an unknown method is -32601');
  },
);
