// A benchmark target: holds N pty pairs (argv[2]) and says so on stdout, then waits.

import * as fd from '../daemon/sys/fd.js';
import * as pty from '../daemon/sys/pty.js';

const n = Number(process.argv[2]);
const held: number[] = [];
for (let i = 0; i < n; i++) {
  const master = pty.openPtmx('/dev/ptmx');
  pty.setPtyLock(master, false);
  held.push(master, pty.openPeer(master, fd.O_RDWR));
}
process.stdout.write(`${held.length}\n`);
setInterval(() => held.length, 1 << 30);
