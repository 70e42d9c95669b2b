// The checkpoint image, format version 1. This is the on-disk format; runtime types of the engine
// are separate and may change without a new format version.

import { z } from 'zod';

export const IMAGE_FORMAT = 'ttycr-image';
export const IMAGE_VERSION = 1;

const u32 = z.number().int().min(0).max(0xffffffff);
const u16 = z.number().int().min(0).max(0xffff);
const u8 = z.number().int().min(0).max(0xff);
const pid = z.number().int().min(1).max(0x3fffffff);
// An fd is a C int. Hosts that raise fs.nr_open (systemd does, to 2^30) can hold fds far above
// the usual 1 Mi, and whether one fits is a question for the restore's dup2, not the schema.
const fdNumber = z.number().int().min(0).max(0x7fffffff);

/**
 * Most entries an image may have of each kind: the kernel's own ceilings, so that every
 * checkpoint a host can make is valid, while a crafted image cannot ask for more than any host
 * could restore.
 */
export const IMAGE_LIMITS = {
  /** NR_UNIX98_PTY_MAX, the highest /proc/sys/kernel/pty/max may be set to. */
  ttys: 1 << 20,
  /** PID_MAX_LIMIT on 64-bit kernels: a task, and a file each task holds, at the most. */
  tasks: 1 << 22,
  files: 1 << 22,
  fdsPerTask: 1 << 22,
  /**
   * Bytes of queued data per direction. What a restore writes back must land in n_tty's read
   * buffer, which holds 4095 (N_TTY_BUF_SIZE less one); more would wait for room that never
   * comes. A dump refuses a queue that full (daemon/tty/drivers/pty-data.ts).
   */
  queuedBytes: 4095,
} as const;

/** Base64 of at most `bytes` bytes. */
const base64Of = (bytes: number) => z.base64().max(Math.ceil(bytes / 3) * 4);

/** Text the kernel gave us (comm, hostname, release): bounded, no NUL. */
const kernelText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\0'), 'must not contain NUL');

export const TermiosSchema = z.object({
  iflag: u32,
  oflag: u32,
  cflag: u32,
  lflag: u32,
  line: u8,
  cc: z.array(u8).length(19),
  ispeed: u32,
  ospeed: u32,
});

export const WinsizeSchema = z.object({
  rows: u16,
  cols: u16,
  xpixel: u16,
  ypixel: u16,
});

export const TtyKindSchema = z.enum(['pty', 'ctty', 'console', 'vt', 'serial']);

/** One terminal: for a pty, the pair of master and pts with the state the kernel keeps for it. */
export const TtySchema = z.object({
  id: z.number().int().min(0),
  kind: TtyKindSchema,
  index: z.number().int().min(0).describe('N in /dev/pts/N'),
  rdev: z.number().int().min(0).describe('dev_t of the pts node'),
  devpts: z.number().int().min(0).describe('st_dev of the devpts instance the pts lives in'),
  ptmx: z
    .string()
    .max(4096)
    .refine((s) => s.startsWith('/') && !s.includes('\0'), 'must be an absolute path without NUL')
    .describe('the ptmx path the master was opened through, as its holder saw it'),
  masterHeld: z.boolean().describe('some fd of the checkpointed tasks holds the master'),
  slaveHeld: z.boolean().describe('some fd of the checkpointed tasks holds the pts'),
  orphanMaster: z
    .enum(['close', 'keep'])
    .describe('when no task held the master: close the new one, or keep it for a console'),
  hungUp: z.boolean().describe('the pts was hung up (its master had closed)'),
  peerClosed: z.boolean().describe('the master saw its pts closed (POLLHUP) and no task held one'),
  locked: z.boolean(),
  packet: z.boolean(),
  exclusive: z.boolean().describe('TIOCEXCL on the pts'),
  masterExclusive: z.boolean().describe('TIOCEXCL on the master'),
  termios: TermiosSchema.nullable().describe('null when hung up'),
  lockedTermios: TermiosSchema.nullable(),
  winsize: WinsizeSchema.nullable(),
  ldisc: z.number().int().min(0).max(255).nullable().describe('line discipline of the pts'),
  node: z.object({ uid: u32, gid: u32, mode: z.number().int().min(0).max(0o7777) }).nullable(),
  session: pid.nullable().describe('session the pts controls'),
  foreground: pid.nullable().describe('its foreground process group'),
  data: z
    .object({
      input: base64Of(IMAGE_LIMITS.queuedBytes).describe('queued toward the pts reader'),
      output: base64Of(IMAGE_LIMITS.queuedBytes).describe('queued toward the master reader'),
    })
    .nullable(),
});

export const OwnerSchema = z.object({
  type: z.number().int().min(0).max(2).describe('F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP'),
  pid: z.number().int().min(0),
});

/** One open file description; fds that share it (dup, fork) point at the same entry. */
export const OpenFileSchema = z.object({
  id: z.number().int().min(0),
  tty: z.number().int().min(0),
  end: z.enum(['master', 'slave', 'ctty']).describe('ctty: opened through /dev/tty'),
  // Every flag F_GETFL reports fits in 24 bits (__O_TMPFILE is the highest, 0o20000000 on x86-64).
  flags: z.number().int().min(0).max(0o77777777).describe('open flags as F_GETFL gives them'),
  pos: z.number().int().min(0),
  owner: OwnerSchema,
  signal: z.number().int().min(0).max(64),
});

export const TaskFdSchema = z.object({
  fd: fdNumber,
  file: z.number().int().min(0),
  cloexec: z.boolean(),
});

export const TaskSchema = z.object({
  pid,
  ppid: z.number().int().min(0),
  comm: kernelText(64).describe('/proc/PID/comm: 15 bytes, read as latin1, one char a byte'),
  sid: z.number().int().min(0),
  pgid: z.number().int().min(0),
  ctty: z.number().int().min(0).nullable().describe('id of the tty that is its controlling tty'),
  cttyRdev: z.number().int().min(0).describe('tty_nr of /proc/PID/stat; 0 for none'),
  fds: z.array(TaskFdSchema).max(IMAGE_LIMITS.fdsPerTask),
});

export const CheckpointSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    name: z.string().max(128).nullable(),
    createdAt: z.iso.datetime(),
    uid: u32.describe('uid of the caller who made it'),
    host: kernelText(255),
    kernel: kernelText(255),
    options: z.object({
      tree: z.boolean(),
      freeze: z.boolean(),
      data: z.boolean(),
      kill: z.boolean(),
    }),
    ttys: z.array(TtySchema).max(IMAGE_LIMITS.ttys),
    files: z.array(OpenFileSchema).max(IMAGE_LIMITS.files),
    tasks: z.array(TaskSchema).max(IMAGE_LIMITS.tasks),
  })
  .superRefine((c, ctx) => {
    // Entries are referred to by position: an id must be its index, a reference must resolve.
    const bad = (message: string) => ctx.addIssue({ code: 'custom', message });
    c.ttys.forEach((t, i) => t.id !== i && bad(`ttys[${i}] has id ${t.id}`));
    c.files.forEach((f, i) => {
      if (f.id !== i) bad(`files[${i}] has id ${f.id}`);
      if (f.tty >= c.ttys.length) bad(`files[${i}] names tty ${f.tty}, which does not exist`);
    });
    // A master file exists exactly when the image says a task held the master, and never for a
    // hung-up pts (its master had closed): a restore hands out the master only then.
    c.ttys.forEach((t) => {
      const masters = c.files.filter((f) => f.tty === t.id && f.end === 'master').length;
      if (masters > 1) bad(`tty ${t.id} has ${masters} master files`);
      if (t.masterHeld !== (masters === 1)) bad(`tty ${t.id}: masterHeld does not match its files`);
      if (t.hungUp && masters) bad(`tty ${t.id} is hung up but has a master file`);
    });
    const pids = new Set<number>();
    for (const task of c.tasks) {
      if (pids.has(task.pid)) bad(`task ${task.pid} appears twice`);
      pids.add(task.pid);
      if (task.ctty !== null && task.ctty >= c.ttys.length) {
        bad(`task ${task.pid} has controlling tty ${task.ctty}, which does not exist`);
      }
      const numbers = new Set<number>();
      for (const fd of task.fds) {
        if (fd.file >= c.files.length) bad(`task ${task.pid} fd ${fd.fd} names a missing file`);
        if (numbers.has(fd.fd)) bad(`task ${task.pid} has fd ${fd.fd} twice`);
        numbers.add(fd.fd);
      }
    }
  });

/** The file as stored: the checkpoint with its format, version and checksum. */
export const ImageFileSchema = z.object({
  format: z.literal(IMAGE_FORMAT),
  version: z.number().int(),
  checksum: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  checkpoint: z.unknown(),
});

export type Termios = z.infer<typeof TermiosSchema>;
export type Winsize = z.infer<typeof WinsizeSchema>;
export type TtyKind = z.infer<typeof TtyKindSchema>;
export type Tty = z.infer<typeof TtySchema>;
export type OpenFile = z.infer<typeof OpenFileSchema>;
export type Task = z.infer<typeof TaskSchema>;
export type TaskFd = z.infer<typeof TaskFdSchema>;
export type Checkpoint = z.infer<typeof CheckpointSchema>;
