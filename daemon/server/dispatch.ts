// JSON-RPC dispatch: one request line in, one reply line (and the fds it carries) out. Params are
// validated with the method's zod schema; every error becomes the right JSON-RPC error object.

import {
  createJSONRPCErrorResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
  JSONRPCErrorCode,
  JSONRPCErrorException,
  JSONRPCServer,
} from 'json-rpc-2.0';

import { errorReasons, toRpcError, TtycrError } from '../../rpc-schema/errors.js';
import { type MethodName, methods } from '../../rpc-schema/methods.js';
import { type Logger, silentLogger } from '../log.js';
import { SysError } from '../sys/errors.js';
import { closeQuietly } from '../sys/fd.js';
import type { PeerCred } from './access.js';
import type { CallContext, Handler, Handlers } from './methods/context.js';

/** A reply line (null for a notification) and the fds to send with it in one sendmsg. */
export interface Reply {
  reply: string | null;
  /** Owned by the caller: close each once sendmsg has copied it, or when sending fails. */
  fds: number[];
  /** To call once the reply went out (true) or was dropped (false): a claim settles then. */
  delivered?: (sent: boolean) => void;
}

export interface DispatcherOptions {
  handlers: Handlers;
  discover: () => unknown;
  log?: Logger;
}

/** The most requests one batch may hold: each runs at once, so a batch is a burst of work. */
const MAX_BATCH = 100;

/**
 * The deepest params may nest (an image is about 8 levels). JSON.parse takes any depth, but
 * JSON.stringify, zod and the handlers recurse, and a stack overflow there would be a bug's
 * internal error rather than the caller's mistake.
 */
export const MAX_PARAMS_DEPTH = 64;

export class Dispatcher {
  private readonly server = new JSONRPCServer<CallContext>({ errorListener: () => {} });
  private readonly log: Logger;
  private inFlight = 0;
  private stopping = false;
  private idle: (() => void) | null = null;

  constructor(options: DispatcherOptions) {
    this.log = options.log ?? silentLogger;
    for (const name of Object.keys(methods) as MethodName[]) {
      this.server.addMethod(name, this.wrap(name, options.handlers[name] as Handler<MethodName>));
    }
    this.server.addMethod('rpc.discover', options.discover);
  }

  /**
   * Answers one line. `fds` arrived with it; no method takes fds, so they are closed here.
   * Never throws: whatever happens, the caller gets a reply to send and the connection lives.
   */
  async handle(line: string, fds: number[], peer: PeerCred): Promise<Reply> {
    for (const fd of fds) closeQuietly(fd);

    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return replyOf(createJSONRPCErrorResponse(null, JSONRPCErrorCode.ParseError, 'Parse error'));
    }

    this.inFlight++;
    try {
      if (!Array.isArray(request)) return await this.one(request, peer);
      return await this.batch(request, peer);
    } finally {
      if (--this.inFlight === 0) this.idle?.();
    }
  }

  /** Refuses new requests with SHUTTING_DOWN and resolves once those in flight are answered. */
  async drain(): Promise<void> {
    this.stopping = true;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  get pending(): number {
    return this.inFlight;
  }

  private async one(request: unknown, peer: PeerCred): Promise<Reply> {
    const invalid = checkRequest(request);
    if (invalid) return replyOf(invalid);
    const call: CallContext = { peer, fds: [] };

    // A notification gets no reply, so fds could not go anywhere: a claim needs an id.
    const req = request as JSONRPCRequest;
    if (req.id === undefined && sendsFds(req.method)) return { reply: null, fds: [] };

    const response = this.stopping
      ? errorResponse(req.id ?? null, new TtycrError('SHUTTING_DOWN', 'the daemon is stopping'))
      : await this.server.receive(req, call);
    if (!response) {
      for (const fd of call.fds) closeQuietly(fd);
      call.delivered?.(false);
      return { reply: null, fds: [] };
    }
    try {
      const reply = JSON.stringify(response);
      return call.delivered
        ? { reply, fds: call.fds, delivered: call.delivered }
        : { reply, fds: call.fds };
    } catch (err) {
      for (const fd of call.fds) closeQuietly(fd);
      call.delivered?.(false);
      const error = this.handlerError(req.method, err, peer);
      return replyOf(
        createJSONRPCErrorResponse(req.id ?? null, error.code, error.message, error.data),
      );
    }
  }

  /** A batch is answered as an array; a method that sends fds cannot be part of one. */
  private async batch(requests: unknown[], peer: PeerCred): Promise<Reply> {
    if (requests.length === 0) return replyOf(invalidRequest(null, 'empty batch'));
    if (requests.length > MAX_BATCH) {
      return replyOf(invalidRequest(null, `a batch holds at most ${MAX_BATCH} requests`));
    }
    const withFds = requests.find((r) => sendsFds((r as { method?: unknown } | null)?.method));
    if (withFds) return replyOf(invalidRequest(null, 'restore.claim cannot be batched'));

    const replies = await Promise.all(requests.map((request) => this.one(request, peer)));
    const lines = replies.flatMap((r) => (r.reply === null ? [] : [r.reply]));
    return { reply: lines.length ? `[${lines.join(',')}]` : null, fds: [] };
  }

  /** A method with params validation and error mapping around its handler. */
  private wrap(name: MethodName, handler: Handler<MethodName>) {
    const spec = methods[name];
    return async (raw: unknown, call: CallContext): Promise<unknown> => {
      if (nestsDeeper(raw, MAX_PARAMS_DEPTH)) {
        this.log.debug('invalid params', { method: name, depth: `> ${MAX_PARAMS_DEPTH}` });
        throw new JSONRPCErrorException(
          `invalid params for ${name}: nested deeper than ${MAX_PARAMS_DEPTH} levels`,
          JSONRPCErrorCode.InvalidParams,
          { maxDepth: MAX_PARAMS_DEPTH },
        );
      }
      const params = spec.params.safeParse(raw ?? {});
      if (!params.success) {
        this.log.debug('invalid params', { method: name, issues: params.error.issues.length });
        throw new JSONRPCErrorException(
          `invalid params for ${name}`,
          JSONRPCErrorCode.InvalidParams,
          {
            issues: params.error.issues,
          },
        );
      }

      try {
        return await handler(params.data as never, call);
      } catch (err) {
        for (const fd of call.fds.splice(0)) closeQuietly(fd);
        call.delivered?.(false);
        delete call.delivered;
        throw this.handlerError(name, err, call.peer);
      }
    };
  }

  /** The JSON-RPC error for what a handler threw, logged here: the request finally fails here. */
  private handlerError(method: string, err: unknown, peer: PeerCred): JSONRPCErrorException {
    if (err instanceof TtycrError && err.data.param !== undefined) {
      // A parameter only the handler could judge (a path that is no ptmx) is bad params, like
      // one the schema refused: the caller's mistake, sent without a reason word.
      this.log.info('request failed', {
        method,
        reason: 'INVALID_PARAMS',
        param: err.data.param,
        error: err.message,
        uid: peer.uid,
      });
      return new JSONRPCErrorException(err.message, JSONRPCErrorCode.InvalidParams, {
        ...err.data,
      });
    }
    if (err instanceof TtycrError) {
      // The caller's mistake (no such id, not theirs, a dead pid) is info; a failing syscall
      // behind an application error is the daemon's, and an error.
      const level = err.reason === 'SYSCALL_FAILED' ? 'error' : 'info';
      this.log[level]('request failed', {
        method,
        reason: err.reason,
        error: err.message,
        uid: peer.uid,
      });
      const error = toRpcError(err);
      return new JSONRPCErrorException(error.message, error.code, error.data);
    }
    if (err instanceof SysError) {
      this.log.error('request failed', {
        method,
        reason: 'SYSCALL_FAILED',
        error: err.message,
        uid: peer.uid,
      });
      return new JSONRPCErrorException(`${method}: ${err.message}`, errorReasons.SYSCALL_FAILED, {
        reason: 'SYSCALL_FAILED',
        errno: err.code,
      });
    }

    const stack = err instanceof Error ? err.stack : String(err);
    this.log.error('internal error', { method, error: String(err), stack, uid: peer.uid });
    return new JSONRPCErrorException(
      `internal error in ${method}`,
      JSONRPCErrorCode.InternalError,
      {
        method,
      },
    );
  }
}

/**
 * Whether `value` has arrays or objects nested more than `max` deep (the value itself is level
 * 1). Iterative, with a stack of its own, so that no depth can overflow the call stack here.
 */
export function nestsDeeper(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, depth] = next;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function sendsFds(method: unknown): boolean {
  if (typeof method !== 'string' || !Object.hasOwn(methods, method)) return false;
  return 'sendsFds' in methods[method as MethodName];
}

/** The -32600 response for anything that is not a JSON-RPC 2.0 request object, else null. */
function checkRequest(request: unknown): JSONRPCResponse | null {
  if (request === null || typeof request !== 'object') return invalidRequest(null, 'not an object');
  const r = request as Record<string, unknown>;
  const id = r.id === undefined || isId(r.id) ? ((r.id ?? null) as JSONRPCID) : null;

  if (r.jsonrpc !== '2.0') return invalidRequest(id, "jsonrpc must be '2.0'");
  if (typeof r.method !== 'string') return invalidRequest(id, 'method must be a string');
  if (r.id !== undefined && !isId(r.id))
    return invalidRequest(null, 'id must be a string, number or null');
  if (r.params !== undefined && (r.params === null || typeof r.params !== 'object')) {
    return invalidRequest(id, 'params must be an object or an array');
  }
  return null;
}

function isId(id: unknown): boolean {
  return typeof id === 'string' || typeof id === 'number' || id === null;
}

function invalidRequest(id: JSONRPCID, why: string): JSONRPCResponse {
  return createJSONRPCErrorResponse(id, JSONRPCErrorCode.InvalidRequest, `Invalid Request: ${why}`);
}

function errorResponse(id: JSONRPCID, err: TtycrError): JSONRPCResponse {
  const error = toRpcError(err);
  return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
}

function replyOf(response: JSONRPCResponse): Reply {
  return { reply: JSON.stringify(response), fds: [] };
}
