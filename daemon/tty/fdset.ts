// The fds one dump or restore opens in the daemon, so that any failure can close them all.

import { closeQuietly } from '../sys/fd.js';

export class FdSet {
  private readonly open = new Set<number>();

  /** Takes ownership of an fd the caller just opened; returns it for chaining. */
  add(fd: number): number {
    this.open.add(fd);
    return fd;
  }

  /** Closes one fd the set owns. */
  close(fd: number): void {
    if (this.open.delete(fd)) closeQuietly(fd);
  }

  /** Gives up ownership without closing (the fd now belongs to someone else). */
  release(fd: number): void {
    this.open.delete(fd);
  }

  has(fd: number): boolean {
    return this.open.has(fd);
  }

  list(): number[] {
    return [...this.open];
  }

  get size(): number {
    return this.open.size;
  }

  /** Closes every fd still owned; returns how many. */
  closeAll(): number {
    const n = this.open.size;
    for (const fd of this.open) closeQuietly(fd);
    this.open.clear();
    return n;
  }
}
