// A count per uid of things held (connections, checkpoints being written), for per-uid limits.

export class UidCounts {
  private readonly counts = new Map<number, number>();

  of(uid: number): number {
    return this.counts.get(uid) ?? 0;
  }

  add(uid: number): void {
    this.counts.set(uid, this.of(uid) + 1);
  }

  /** Takes one back; a uid that holds none is forgotten, so the map stays as small as the use. */
  remove(uid: number): void {
    const left = this.of(uid) - 1;
    if (left > 0) this.counts.set(uid, left);
    else this.counts.delete(uid);
  }
}
