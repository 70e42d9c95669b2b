// Engine benchmarks: dump and restore of N pty pairs held by one process, against the floor.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { closeQuietly } from '../daemon/sys/fd.js';
import { dump, restore } from '../daemon/tty/index.js';
import { floorDump, floorRestore } from './floor.js';

const holderPath = fileURLToPath(new URL('./pty-holder.js', import.meta.url));

/** Median of `runs` timings of `fn`, in µs. */
async function median(runs: number, fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function startHolder(n: number) {
  const proc = spawn(process.execPath, [holderPath, String(n)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(proc.stdout!, 'data');
  return proc;
}

export async function benchEngine(sizes = [1, 100, 1000]): Promise<object[]> {
  const lines: object[] = [];
  for (const n of sizes) {
    const runs = n >= 1000 ? 5 : n >= 100 ? 15 : 101;
    const holder = await startHolder(n);
    const pid = holder.pid!;
    let checkpoint;
    try {
      checkpoint = await dump([pid], { id: 'bench', uid: 0 });
      const dumpUs = await median(runs, () => dump([pid], { id: 'bench', uid: 0 }));
      const floorDumpUs = await median(runs, () => floorDump(pid));
      lines.push({ bench: 'engine.dump', n, us_per_pty: round(dumpUs / n) });
      lines.push({ bench: 'floor.dump', n, us_per_pty: round(floorDumpUs / n) });
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }

    // With the holder gone its indices are free: each restore gets them back exactly.
    const termios = checkpoint.ttys[0]!.termios!;
    const winsize = checkpoint.ttys[0]!.winsize!;
    const restoreUs = await median(runs, () => restore(checkpoint).close());
    const floorRestoreUs = await median(runs, () =>
      floorRestore(n, termios, winsize).forEach(closeQuietly),
    );
    lines.push({ bench: 'engine.restore', n, us_per_pty: round(restoreUs / n) });
    lines.push({ bench: 'floor.restore', n, us_per_pty: round(floorRestoreUs / n) });
  }
  return lines;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
