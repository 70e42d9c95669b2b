// Starting test/fixtures/holder.ts as a real process and waiting for what it made.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

import type { HolderInfo, HolderSpec } from './holder-spec.js';

const fixture = fileURLToPath(new URL('../fixtures/holder.ts', import.meta.url));

export interface Holder extends HolderInfo {
  proc: ChildProcess;
  /** SIGKILLs the holder and its child, and waits until the holder is gone. */
  kill(): Promise<void>;
}

/** Runs a holder with the same TypeScript loader this test runs with. */
export async function startHolder(spec: HolderSpec): Promise<Holder> {
  const proc = spawn(process.execPath, [...process.execArgv, fixture, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: spec.session ?? false,
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    proc.once('exit', (code) =>
      reject(new Error(`holder exited with ${code} before it was ready`)),
    );
  });
  const info = JSON.parse(line) as HolderInfo;
  return {
    ...info,
    proc,
    async kill() {
      if (info.child) killQuietly(info.child);
      killQuietly(info.pid);
      await exited;
    },
  };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
