// Whether ttycrd's output goes to the systemd journal, and the syslog level prefix that lets
// journald store each line with its priority (`journalctl -p warning`).

import { fstatSync } from 'node:fs';

/** syslog(3) priorities journald reads from a leading `<N>` (SyslogLevelPrefix=, on by default). */
const PRIORITIES: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * True when `fd` is the stream systemd connected to the journal: JOURNAL_STREAM holds its
 * `device:inode`. Checking the fd, not only the variable, keeps a child or a redirected
 * stream from getting prefixes meant for journald.
 */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;

  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1]!) && st.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/** `<3>` for error, `<4>` warn, `<6>` info, `<7>` debug; info's for a level it does not know. */
export function syslogPrefix(level: string): string {
  return `<${PRIORITIES[level] ?? PRIORITIES.info}>`;
}
