// The epoll reactor: readiness of libc-level fds delivered on Node's main thread.
//
// Node's own sockets cannot carry fds, so the transport watches its fds with one epoll fd, and
// Node's event loop watches that epoll fd (uv_poll: an epoll fd is readable while any fd in it is
// ready). Each time it is readable, a non-blocking epoll_wait collects the events and the
// handlers run, on the main thread, with no thread of ours and no blocking call. Level-triggered
// throughout: what a handler leaves unread is reported again on the next loop iteration.
// When the last fd leaves, the uv_poll handle and the epoll fd are closed, so nothing keeps the
// process alive (the CLI exits) and a test can count fds.
//
// Measured (bench/transport.ts): this design replaced a blocking epoll_wait on libuv's
// threadpool, whose hand-offs between threads cost more than the rest of a round trip.
//
// API: `reactor()` is the process's one Reactor; `add(fd, events, handler)` returns a Watch
// whose `modify(events)` and `remove()` the owner calls (remove before closing the fd).

import { closeQuietly } from '../sys/fd.js';
import {
  epollAdd,
  epollCreate,
  epollDelete,
  epollEvents,
  epollModify,
  epollWait,
  eventFlags,
  eventId,
} from '../sys/epoll.js';
import { pollReadable, type UvPoll } from '../sys/uvpoll.js';

export { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP } from '../sys/epoll.js';

/** Called on the main thread with the epoll flags that are set for the fd. */
export type ReadyHandler = (events: number) => void;

/** Called with what a watch's ReadyHandler threw; the watch's owner cleans up its own fd. */
export type ErrorHandler = (err: unknown) => void;

export interface Watch {
  readonly fd: number;
  modify(events: number): void;
  remove(): void;
}

const MAX_EVENTS = 256;

export class Reactor {
  private epfd = -1;
  private poll: UvPoll | null = null;
  private nextId = 1;
  private readonly handlers = new Map<number, { ready: ReadyHandler; failed?: ErrorHandler }>();
  private readonly events = epollEvents(MAX_EVENTS);
  private idleWaiters: (() => void)[] = [];

  /**
   * Starts watching `fd`; the handler runs each loop iteration that finds it ready. What it
   * throws goes to `failed`, so that one broken connection does not take the process down.
   */
  add(fd: number, events: number, handler: ReadyHandler, failed?: ErrorHandler): Watch {
    this.open();
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    epollAdd(this.epfd, fd, events, id);
    this.handlers.set(id, failed ? { ready: handler, failed } : { ready: handler });

    let removed = false;
    return {
      fd,
      modify: (next: number) => {
        if (!removed) epollModify(this.epfd, fd, next, id);
      },
      remove: () => {
        if (removed) return;
        removed = true;
        epollDelete(this.epfd, fd);
        this.handlers.delete(id);
        if (this.handlers.size === 0) this.close();
      },
    };
  }

  /** Resolves once the reactor watches nothing and has closed its own fds. */
  idle(): Promise<void> {
    if (this.epfd < 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The number of fds watched. */
  get size(): number {
    return this.handlers.size;
  }

  private open(): void {
    if (this.epfd >= 0) return;
    this.epfd = epollCreate();
    try {
      this.poll = pollReadable(this.epfd, () => this.dispatch());
    } catch (err) {
      closeQuietly(this.epfd);
      this.epfd = -1;
      throw err;
    }
  }

  private close(): void {
    this.poll?.close();
    this.poll = null;
    closeQuietly(this.epfd);
    this.epfd = -1;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private dispatch(): void {
    if (this.epfd < 0) return;
    const count = epollWait(this.epfd, this.events, 0);
    const errors: unknown[] = [];

    for (let i = 0; i < count; i++) {
      // An fd removed by an earlier handler in this batch is skipped: its number may be reused.
      const handler = this.handlers.get(eventId(this.events, i));
      if (!handler) continue;
      try {
        handler.ready(eventFlags(this.events, i));
      } catch (err) {
        if (handler.failed) this.report(handler.failed, err, errors);
        else errors.push(err);
      }
    }

    // A handler's exception with nobody to take it is a bug; it surfaces as an uncaught
    // exception, as it would from a Node stream, but only after the other fds were served.
    for (const err of errors) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private report(failed: ErrorHandler, err: unknown, errors: unknown[]): void {
    try {
      failed(err);
    } catch (again) {
      errors.push(again);
    }
  }
}

let shared: Reactor | undefined;

/** The process's reactor, created on first use. */
export function reactor(): Reactor {
  shared ??= new Reactor();
  return shared;
}
