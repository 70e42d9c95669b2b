// Named steps of a dump or restore: each failure says which step of which tty failed, and tests
// can make any step fail on purpose to prove the rollback.

import { TtycrError } from '../../rpc-schema/errors.js';
import { SysError } from '../sys/errors.js';

export class Steps {
  constructor(
    private readonly prefix: string,
    private readonly failAt?: string,
  ) {}

  /** Runs one step; any error comes back as a TtycrError naming the step and the object. */
  run<T>(step: string, what: string, fn: () => T): T {
    try {
      if (this.failAt === step) throw new TtycrError('BUSY', `injected failure at ${step}`);
      return fn();
    } catch (err) {
      throw wrap(err, `${this.prefix} ${what}: ${step}`, step);
    }
  }
}

export function wrap(err: unknown, context: string, step: string): TtycrError {
  if (err instanceof TtycrError) {
    return new TtycrError(err.reason, `${context}: ${err.message}`, {
      step,
      ...err.data,
    });
  }
  if (err instanceof SysError) {
    return new TtycrError('SYSCALL_FAILED', `${context}: ${err.message}`, {
      step,
      errno: err.code,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TtycrError('SYSCALL_FAILED', `${context}: ${message}`, { step });
}
