// Helpers for the transport tests: fd counts, socket paths, and waiting for lines and closes.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Test } from 'tap';

import { reactor } from '../../daemon/server/reactor.js';
import type { CloseReason, Connection, IncomingLine } from '../../daemon/server/connection.js';

/** Open fds of this process, as /proc/self/fd lists them. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * t.test with a leak check: the fd count after the test (once the reactor is idle) must be
 * what it was before. The reactor closes its own fds once it watches nothing.
 */
export function fdTest(t: Test, name: string, fn: (t: Test) => Promise<void>): void {
  t.test(name, async (t) => {
    const before = fdCount();
    await fn(t);
    await reactor().idle();
    t.equal(fdCount(), before, 'no fd left open');
  });
}

/** Allocated ptys on the host: a pty is freed only when every fd of its master is closed. */
export function ptyCount(): number {
  return Number(readFileSync('/proc/sys/kernel/pty/nr', 'utf8'));
}

/** A fresh directory for sockets; the returned function removes it. */
export function socketDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-transport-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A line as a test sees it: its text, its fds (now the test's to close), MSG_CTRUNC. */
export interface Got {
  text: string;
  fds: number[];
  truncated: boolean;
}

/**
 * Collects the lines a connection receives; `next()` waits for the next one. With keepFds
 * false the fds are left to the connection, which closes them after the handler.
 */
export class LineQueue {
  private readonly lines: Got[] = [];
  private waiters: ((line: Got) => void)[] = [];

  constructor(conn: Connection, keepFds = true) {
    conn.onLine = (line: IncomingLine) => {
      const got = {
        text: line.text,
        fds: keepFds ? line.takeFds() : [],
        truncated: line.truncated,
      };
      const waiter = this.waiters.shift();
      if (waiter) waiter(got);
      else this.lines.push(got);
    };
  }

  next(): Promise<Got> {
    const line = this.lines.shift();
    if (line) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Resolves with the reason a connection closed for. */
export function closed(conn: Connection): Promise<CloseReason> {
  return conn.finished;
}
