// The JSON-RPC API: one object per method with its params, its result and the error reasons it
// can answer with. The daemon validates params with these; the client types its calls with them.

import { z } from 'zod';

import type { ErrorReason } from './errors.js';
import { CheckpointSchema, TtyKindSchema } from './image.js';

const pid = z.number().int().min(1).max(0x3fffffff);
const checkpointId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'not a checkpoint id');
const restoreId = z.string().regex(/^r-[a-z0-9-]{1,64}$/, 'not a restore id');

export interface MethodSpec {
  summary: string;
  params: z.ZodType;
  result: z.ZodType;
  errors: ErrorReason[];
  /** Whether a successful reply carries fds (SCM_RIGHTS) in the order its result lists them. */
  sendsFds?: boolean;
}

const TtySummary = z.object({
  id: z.number().int(),
  kind: TtyKindSchema,
  index: z.number().int(),
  path: z.string(),
  size: z.string().describe('cols x rows, or "-" when unknown'),
  modes: z.array(z.string()).describe('short words: canon, raw, echo, packet, excl, locked, ...'),
});

const CheckpointSummary = z.object({
  id: checkpointId,
  name: z.string().nullable(),
  createdAt: z.string(),
  uid: z.number().int(),
  pids: z.array(pid),
  ttys: z.number().int(),
  files: z.number().int(),
});

const RestoredTty = z.object({
  id: z.number().int(),
  kind: TtyKindSchema,
  oldIndex: z.number().int(),
  newIndex: z.number().int(),
  path: z.string().describe('the pts path inside the devpts instance restored into'),
  console: z.boolean().describe('its master waits for a console claim (task 0)'),
});

const ClaimFd = z.object({
  fd: z
    .number()
    .int()
    .min(-1)
    .describe(
      'fd number in the original task; -1: not placed (a console master, a ctty no fd held)',
    ),
  tty: z.number().int(),
  end: z
    .enum(['master', 'slave', 'ctty'])
    .describe('ctty: a pts fd standing for /dev/tty; reopen /dev/tty once it is the ctty'),
  flags: z.number().int().describe('open flags, already set on the open file'),
  cloexec: z.boolean(),
  owner: z
    .object({ type: z.number().int(), self: z.boolean() })
    .nullable()
    .describe('F_SETOWN_EX for the claimant to apply: self means its own pid or process group'),
});

const RestoredTask = z.object({
  pid: z.number().int().min(0).describe('original pid; 0 is the console'),
  fds: z.array(ClaimFd.pick({ fd: true, tty: true, end: true })),
  ctty: z.number().int().nullable().describe('tty id of its controlling tty'),
  claimed: z.boolean(),
});

const RestoreSummary = z.object({
  id: restoreId,
  checkpoint: checkpointId,
  uid: z.number().int(),
  createdAt: z.string(),
  expiresAt: z.string(),
  ttys: z.array(RestoredTty),
  tasks: z.array(RestoredTask),
});

export const methods = {
  'daemon.status': {
    summary: 'Version, uptime, counts and limits of the daemon.',
    params: z.object({}).strict(),
    result: z.object({
      version: z.string(),
      pid: z.number().int(),
      uptimeSeconds: z.number(),
      stateDir: z.string(),
      socket: z.string(),
      checkpoints: z.number().int(),
      restores: z.number().int(),
      pendingFds: z.number().int(),
      connections: z.number().int(),
      limits: z.object({
        maxLineBytes: z.number().int(),
        maxConnections: z.number().int(),
        idleSeconds: z.number(),
        restoreTtlSeconds: z.number(),
        maxRestoresPerUid: z.number().int(),
        maxPtysPerUid: z.number().int().describe('not applied to root'),
        maxCheckpointsPerUid: z.number().int().describe('not applied to root'),
      }),
    }),
    errors: [],
  },
  'checkpoint.create': {
    summary: 'Checkpoint every tty the given processes hold.',
    params: z
      .object({
        pids: z.array(pid).min(1).max(4096),
        tree: z.boolean().default(false).describe('include all descendants'),
        freeze: z
          .boolean()
          .default(false)
          .describe('stop the tasks while dumping (ptrace; SIGSTOP where refused)'),
        freezer: z
          .string()
          .startsWith('/sys/fs/cgroup/')
          .max(4096)
          .optional()
          .describe(
            'freeze this cgroup (v2 or the v1 freezer) instead of stopping each task; root only',
          ),
        data: z.boolean().default(false).describe('save queued input and output (needs freeze)'),
        kill: z.boolean().default(false).describe('SIGKILL the tasks after a complete dump'),
        name: z.string().min(1).max(128).optional(),
      })
      .strict(),
    result: z.object({
      id: checkpointId,
      name: z.string().nullable(),
      pids: z.array(pid),
      ttys: z.array(TtySummary),
      files: z.number().int(),
    }),
    errors: [
      'NO_SUCH_PROCESS',
      'PERMISSION_DENIED',
      'UNSUPPORTED_TTY',
      'LIMIT_EXCEEDED',
      'SYSCALL_FAILED',
    ],
  },
  'checkpoint.list': {
    summary: 'The checkpoints the caller may see.',
    params: z.object({}).strict(),
    result: z.object({ checkpoints: z.array(CheckpointSummary) }),
    errors: [],
  },
  'checkpoint.get': {
    summary: 'One checkpoint image, whole.',
    params: z.object({ id: checkpointId }).strict(),
    result: z.object({ checkpoint: CheckpointSchema, ttys: z.array(TtySummary) }),
    errors: ['NOT_FOUND', 'IMAGE_CORRUPT'],
  },
  'checkpoint.delete': {
    summary: 'Delete a checkpoint.',
    params: z.object({ id: checkpointId }).strict(),
    result: z.object({ id: checkpointId, deleted: z.literal(true) }),
    errors: ['NOT_FOUND', 'PERMISSION_DENIED'],
  },
  'checkpoint.import': {
    summary: 'Store an image exported elsewhere under a new id.',
    params: z.object({ checkpoint: z.unknown(), name: z.string().min(1).max(128).optional() }),
    result: z.object({ id: checkpointId }),
    errors: ['INVALID_IMAGE', 'LIMIT_EXCEEDED'],
  },
  'restore.start': {
    summary: 'Recreate the ttys of a checkpoint and hold them for their tasks to claim.',
    params: z
      .object({
        id: checkpointId,
        ptmx: z.string().startsWith('/').max(4096).optional().describe('default /dev/ptmx'),
        indexPolicy: z.enum(['exact', 'any']).default('exact'),
        ttl: z
          .number()
          .int()
          .min(1)
          .max(86400)
          .optional()
          .describe('seconds until unclaimed fds close'),
      })
      .strict(),
    result: RestoreSummary,
    errors: [
      'NOT_FOUND',
      'IMAGE_CORRUPT',
      'INDEX_BUSY',
      'PERMISSION_DENIED',
      'LIMIT_EXCEEDED',
      'SYSCALL_FAILED',
    ],
  },
  'restore.claim': {
    summary: "A task takes its fds; they arrive with the reply, in the order of 'fds'.",
    params: z
      .object({ id: restoreId, task: z.number().int().min(0).describe('original pid; 0: console') })
      .strict(),
    result: z.object({
      id: restoreId,
      task: z.number().int(),
      fds: z.array(ClaimFd),
      ctty: z
        .object({
          tty: z.number().int(),
          leader: z.boolean().describe('the task led the session: setsid, then TIOCSCTTY'),
          foreground: z.boolean().describe('its process group was in the foreground'),
          fdIndex: z.number().int().describe("which entry of 'fds' is the tty to TIOCSCTTY"),
        })
        .nullable(),
    }),
    errors: ['NOT_FOUND', 'ALREADY_CLAIMED', 'EXPIRED', 'PERMISSION_DENIED'],
    sendsFds: true,
  },
  'restore.list': {
    summary: 'Restores waiting for claims.',
    params: z.object({}).strict(),
    result: z.object({ restores: z.array(RestoreSummary) }),
    errors: [],
  },
  'restore.cancel': {
    summary: 'Close every fd a restore still holds.',
    params: z.object({ id: restoreId }).strict(),
    result: z.object({ id: restoreId, closed: z.number().int() }),
    errors: ['NOT_FOUND', 'ALREADY_CLAIMED', 'EXPIRED', 'PERMISSION_DENIED'],
  },
} as const satisfies Record<string, MethodSpec>;

export type MethodName = keyof typeof methods;
export type Params<M extends MethodName> = z.input<(typeof methods)[M]['params']>;
export type Result<M extends MethodName> = z.infer<(typeof methods)[M]['result']>;
export type TtySummary = z.infer<typeof TtySummary>;
export type RestoreSummary = z.infer<typeof RestoreSummary>;
export type ClaimFd = z.infer<typeof ClaimFd>;
