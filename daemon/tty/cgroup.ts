// Freezing a cgroup instead of stopping each task: every task in it stops at once, children
// forked a moment ago included, and a task already stopped by its job control stays as it was.
// cgroup v2 (cgroup.freeze, cgroup.events) and the v1 freezer (freezer.state) both work.

import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { TtycrError } from '../../rpc-schema/errors.js';

const WAIT_MS = 2000;
const CGROUP_ROOT = '/sys/fs/cgroup/';

export class CgroupFreezer {
  private readonly v2: boolean;
  private frozenHere = false;

  /** `path` is a cgroup directory under /sys/fs/cgroup, symlinks resolved. */
  constructor(readonly path: string) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new TtycrError('NOT_FOUND', `freezer: no cgroup ${path}`, { path });
    }
    if (!real.startsWith(CGROUP_ROOT)) {
      throw new TtycrError('PERMISSION_DENIED', `freezer: ${path} is not under ${CGROUP_ROOT}`);
    }
    this.path = real;
    this.v2 = existsSync(join(real, 'cgroup.freeze'));
    if (!this.v2 && !existsSync(join(real, 'freezer.state'))) {
      throw new TtycrError(
        'UNSUPPORTED_TTY',
        `freezer: ${path} has no cgroup.freeze or freezer.state`,
      );
    }
  }

  isFrozen(): boolean {
    if (this.v2) return /^frozen 1$/m.test(this.read('cgroup.events'));
    return this.read('freezer.state').trim() === 'FROZEN';
  }

  /** Freezes the cgroup unless it already is, and waits until every task in it is frozen. */
  async freeze(): Promise<void> {
    if (this.isFrozen()) return;
    this.write(this.v2 ? 'cgroup.freeze' : 'freezer.state', this.v2 ? '1' : 'FROZEN');
    this.frozenHere = true;
    const deadline = Date.now() + WAIT_MS;
    while (!this.isFrozen()) {
      if (Date.now() > deadline) {
        this.thaw();
        throw new TtycrError('BUSY', `freezer: ${this.path} did not freeze within ${WAIT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Thaws the cgroup if this freezer froze it; a cgroup frozen by someone else stays frozen. */
  thaw(): void {
    if (!this.frozenHere) return;
    this.frozenHere = false;
    try {
      this.write(this.v2 ? 'cgroup.freeze' : 'freezer.state', this.v2 ? '0' : 'THAWED');
    } catch {
      // The cgroup is gone, and its tasks with it.
    }
  }

  private read(file: string): string {
    return readFileSync(join(this.path, file), 'latin1');
  }

  private write(file: string, value: string): void {
    try {
      writeFileSync(join(this.path, file), value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new TtycrError('SYSCALL_FAILED', `freezer: write ${join(this.path, file)}: ${code}`, {
        errno: code,
      });
    }
  }
}
