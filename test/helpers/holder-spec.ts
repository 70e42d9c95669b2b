// The spec a test gives test/fixtures/holder.ts: which ptys to hold, in what state.

export interface HolderPty {
  /** Open masters until this index comes up (a lower one may be busy: the test checks). */
  atIndex?: number;
  /** Which ends stay open: both (default), only the master, or only the pts (hung up). */
  keep?: 'both' | 'master' | 'slave';
  /** How many separate pts opens (open file descriptions), default 1. */
  slaves?: number;
  /** How many dups of the first pts fd. */
  dups?: number;
  termios?: {
    iflagSet?: number;
    iflagClear?: number;
    oflagSet?: number;
    oflagClear?: number;
    cflagSet?: number;
    cflagClear?: number;
    lflagSet?: number;
    lflagClear?: number;
    cc?: Record<number, number>;
    ispeed?: number;
    ospeed?: number;
  };
  winsize?: { rows: number; cols: number; xpixel: number; ypixel: number };
  lockedTermios?: {
    iflag?: number;
    oflag?: number;
    cflag?: number;
    lflag?: number;
  };
  /** Also keep an O_PATH fd naming the pts node (no tty open behind it). */
  namePts?: boolean;
  /** Line discipline of the first pts fd (27 is N_NULL). */
  ldisc?: number;
  packet?: boolean;
  /**
   * Make this pty the holder's controlling tty (needs `session`): keep the fd that did it
   * ('fd'), close it so no fd holds the ctty ('bare'), or also open /dev/tty ('devtty').
   */
  ctty?: 'fd' | 'bare' | 'devtty';
  /** Typed at the master: queued for the pts reader. */
  input?: string;
  /** Written by the pts side: queued for the master reader. */
  output?: string;
  exclusive?: boolean;
  locked?: boolean;
  node?: { uid: number; gid: number; mode: number };
  slaveNonblock?: boolean;
  /** Once input and output are queued, the first pts fd is reopened with only this access. */
  slaveAccess?: 'rdonly' | 'wronly';
  masterAppend?: boolean;
}

export interface HolderSpec {
  /** Run the holder as a session leader of its own (setsid), so it can take a ctty. */
  session?: boolean;
  ptmx?: string;
  ptys: HolderPty[];
  /** A child process sharing these open files: [pty number, 'master' | pts number]. */
  child?: [number, 'master' | string][];
  /** The holder closes its own copies of what it gave the child. */
  childOnly?: boolean;
}

export interface HolderInfo {
  pid: number;
  child: number | null;
  ptys: { index: number; master: number; slaves: number[]; devtty: number; name: number }[];
}
