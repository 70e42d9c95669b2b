// Checkpoint and restore ids: short, readable in a listing, sortable by time, and unique.

import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random lower-case letters and digits. */
export function randomSuffix(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** A checkpoint id such as `20250114-093012-k3f9q`: the UTC time it was made, then 5 random. */
export function newCheckpointId(now = new Date()): string {
  const iso = now.toISOString();
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  return `${date}-${time}-${randomSuffix(5)}`;
}

/** A restore id such as `r-k3f9q2mx`. */
export function newRestoreId(): string {
  return `r-${randomSuffix(8)}`;
}
