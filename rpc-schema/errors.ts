// Application error codes: one stable reason word each, with its JSON-RPC code (-32000..-32099).

import { z } from 'zod';

export const errorReasons = {
  NOT_FOUND: -32001,
  NO_SUCH_PROCESS: -32002,
  PERMISSION_DENIED: -32003,
  INDEX_BUSY: -32004,
  UNSUPPORTED_TTY: -32005,
  IMAGE_CORRUPT: -32006,
  ALREADY_CLAIMED: -32007,
  EXPIRED: -32008,
  FDS_TRUNCATED: -32009,
  SYSCALL_FAILED: -32010,
  LIMIT_EXCEEDED: -32011,
  SHUTTING_DOWN: -32012,
  INVALID_IMAGE: -32013,
  BUSY: -32014,
} as const;

export type ErrorReason = keyof typeof errorReasons;

export const ErrorReasonSchema = z.enum(
  Object.keys(errorReasons) as [ErrorReason, ...ErrorReason[]],
);

/** What an application error carries in the JSON-RPC `error.data` field. */
export const ErrorDataSchema = z
  .object({
    reason: ErrorReasonSchema,
    errno: z.string().optional().describe('errno name, where a system call failed'),
    step: z.string().optional().describe('the step that failed, for restore and checkpoint'),
    param: z
      .string()
      .optional()
      .describe('the request parameter at fault: such an error is sent as -32602 invalid params'),
  })
  .catchall(z.unknown());

export type ErrorData = z.infer<typeof ErrorDataSchema>;

/**
 * An error with a reason word, thrown anywhere in the daemon and turned into a JSON-RPC error at
 * the edge; the client library throws the same class back from an error reply.
 */
export class TtycrError extends Error {
  readonly reason: ErrorReason;
  readonly data: Omit<ErrorData, 'reason'>;

  constructor(reason: ErrorReason, message: string, data: Omit<ErrorData, 'reason'> = {}) {
    super(message);
    this.name = 'TtycrError';
    this.reason = reason;
    this.data = data;
  }

  get code(): number {
    return errorReasons[this.reason];
  }
}

/** A JSON-RPC error object: what a reply's `error` member holds. */
export interface RpcError {
  code: number;
  message: string;
  data: ErrorData;
}

/** The JSON-RPC error object for an application error, its reason word in `data`. */
export function toRpcError(err: TtycrError): RpcError {
  return { code: err.code, message: err.message, data: { ...err.data, reason: err.reason } };
}
