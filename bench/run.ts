// npm run bench: every benchmark, one JSON object per line on stdout.

import { benchEngine } from './engine.js';
import { benchRpc } from './rpc.js';
import { benchTransport } from './transport.js';

const suites: Record<string, () => Promise<object[]>> = {
  engine: () => benchEngine(),
  rpc: () => benchRpc(),
  transport: () => benchTransport(),
};

const only = process.argv.slice(2);
for (const [name, run] of Object.entries(suites)) {
  if (only.length && !only.includes(name)) continue;
  for (const line of await run()) process.stdout.write(JSON.stringify(line) + '\n');
}
