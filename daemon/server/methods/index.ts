// Every method's handler, from the daemon's parts.

import type { DaemonParts, Handlers } from './context.js';
import { checkpointMethods } from './checkpoint.js';
import { daemonMethods } from './daemon.js';
import { restoreMethods } from './restore.js';

export { discoverMethod } from './daemon.js';
export type { CallContext, DaemonParts, Engine, Handlers, ServerInfo } from './context.js';

export function allHandlers(parts: DaemonParts): Handlers {
  return { ...daemonMethods(parts), ...checkpointMethods(parts), ...restoreMethods(parts) };
}
