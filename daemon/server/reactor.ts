// The epoll reactor: readiness of libc-level fds delivered on Node's main thread.
//
// Node's own sockets cannot carry fds, so the transport watches its fds with epoll. One blocking
// epoll_wait at a time runs on libuv's threadpool (koffi's async call); its callback dispatches
// on the main thread and only then arms the next wait, so level-triggered readiness never
// reports an fd twice for one state. epoll_ctl from the main thread works while the wait is
// blocked. An eventfd in the set wakes the wait when the last fd leaves: then no call is
// pending, the epoll fd and eventfd are closed, and nothing keeps the process alive.
//
// API: `reactor()` is the process's one Reactor; `add(fd, events, handler)` returns a Watch
// whose `modify(events)` and `remove()` the owner calls (remove before closing the fd).

import { closeQuietly } from '../sys/fd.js';
import {
  EPOLLIN,
  epollAdd,
  epollCreate,
  epollDelete,
  epollEvents,
  epollModify,
  epollWait,
  epollWaitAsync,
  eventFlags,
  eventId,
  eventfd,
  eventfdDrain,
  eventfdSignal,
} from '../sys/epoll.js';

export { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP } from '../sys/epoll.js';

/** Called on the main thread with the epoll flags that are set for the fd. */
export type ReadyHandler = (events: number) => void;

export interface Watch {
  readonly fd: number;
  modify(events: number): void;
  remove(): void;
}

/** The eventfd's registration id; fds get ids from 1 up. */
const WAKE_ID = 0;
const MAX_EVENTS = 256;

export class Reactor {
  private epfd = -1;
  private wakeFd = -1;
  private waiting = false;
  private nextId = 1;
  private readonly handlers = new Map<number, ReadyHandler>();
  private readonly events = epollEvents(MAX_EVENTS);
  private idleWaiters: (() => void)[] = [];

  /** Whether a non-blocking epoll_wait runs before each threadpool wait (see bench/). */
  pollFirst = true;

  /** Starts watching `fd`; the handler runs for each wait that finds it ready. */
  add(fd: number, events: number, handler: ReadyHandler): Watch {
    this.open();
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    epollAdd(this.epfd, fd, events, id);
    this.handlers.set(id, handler);
    this.arm();

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
        if (this.handlers.size === 0) this.sleep();
      },
    };
  }

  /**
   * Resolves once the reactor watches nothing and has closed its own fds (no wait pending), so
   * that a test can count fds, or a client knows nothing holds the process.
   */
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
    this.wakeFd = eventfd();
    epollAdd(this.epfd, this.wakeFd, EPOLLIN, WAKE_ID);
  }

  /** The last fd left: wake a pending wait so that its callback can close the epoll fd. */
  private sleep(): void {
    if (this.waiting) eventfdSignal(this.wakeFd);
    else this.close();
  }

  private close(): void {
    closeQuietly(this.wakeFd);
    closeQuietly(this.epfd);
    this.epfd = -1;
    this.wakeFd = -1;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private arm(): void {
    if (this.waiting || this.handlers.size === 0) return;

    // Events that came in while the last batch was handled are taken at once, without the
    // round trip through the threadpool.
    if (this.pollFirst) {
      const count = epollWait(this.epfd, this.events, 0);
      if (count > 0) {
        setImmediate(() => {
          this.dispatch(count);
          this.arm();
        });
        this.waiting = true;
        return;
      }
    }

    this.waiting = true;
    epollWaitAsync(this.epfd, this.events, -1, (count) => {
      this.dispatch(count);
      this.arm();
    });
  }

  private dispatch(count: number): void {
    this.waiting = false;
    const errors: unknown[] = [];

    for (let i = 0; i < count; i++) {
      const id = eventId(this.events, i);
      if (id === WAKE_ID) {
        eventfdDrain(this.wakeFd);
        continue;
      }

      // An fd removed by an earlier handler in this batch is skipped: its number may be reused.
      const handler = this.handlers.get(id);
      if (!handler) continue;
      try {
        handler(eventFlags(this.events, i));
      } catch (err) {
        errors.push(err);
      }
    }

    if (this.handlers.size === 0 && this.epfd >= 0) this.close();

    // A handler's exception is a bug; it surfaces as an uncaught exception, as it would from a
    // Node stream, but only after the other fds of the batch were served.
    for (const err of errors) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

let shared: Reactor | undefined;

/** The process's reactor, created on first use. */
export function reactor(): Reactor {
  shared ??= new Reactor();
  return shared;
}
