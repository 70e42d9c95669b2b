// A stand-in for systemd's notify socket: a datagram socket at a path or an abstract `@name`
// that keeps every message a daemon sends (READY=1, STATUS=..., STOPPING=1, WATCHDOG=1).

import { isErrno } from '../../daemon/sys/errors.js';
import { close, read } from '../../daemon/sys/fd.js';
import { EPOLLIN, reactor, type Watch } from '../../daemon/server/reactor.js';
import { SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, bind, socket } from '../../daemon/sys/socket.js';

/** One datagram, as sd_notify sends it: newline-separated assignments. */
export type NotifyMessage = string;

export class NotifyListener {
  /** Every message so far, in order of arrival. */
  readonly messages: NotifyMessage[] = [];

  private readonly fd: number;
  private watch: Watch | null;
  private waiters: {
    wanted: (m: NotifyMessage) => boolean;
    resolve: (m: NotifyMessage) => void;
  }[] = [];

  constructor(readonly address: string) {
    this.fd = socket(SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
    try {
      bind(this.fd, address);
    } catch (err) {
      close(this.fd);
      throw err;
    }
    this.watch = reactor().add(this.fd, EPOLLIN, () => this.receive());
  }

  /** The first message (already received or still to come) that `wanted` accepts. */
  until(wanted: (m: NotifyMessage) => boolean): Promise<NotifyMessage> {
    const seen = this.messages.find(wanted);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ wanted, resolve }));
  }

  /** The first message that assigns `key` (`READY`, `STOPPING`, ...). */
  assigning(key: string): Promise<NotifyMessage> {
    return this.until((m) => assignments(m).has(key));
  }

  /** How many messages so far assigned `key`. */
  count(key: string): number {
    return this.messages.filter((m) => assignments(m).has(key)).length;
  }

  close(): void {
    if (!this.watch) return;
    this.watch.remove();
    this.watch = null;
    close(this.fd);
  }

  private receive(): void {
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n: number;
      try {
        n = read(this.fd, buf);
      } catch (err) {
        if (isErrno(err, 'EAGAIN')) return;
        throw err;
      }

      const message = buf.subarray(0, n).toString();
      this.messages.push(message);
      const ready = this.waiters.filter((w) => w.wanted(message));
      this.waiters = this.waiters.filter((w) => !w.wanted(message));
      for (const waiter of ready) waiter.resolve(message);
    }
  }
}

/** `READY=1\nSTATUS=x` as a map from key to value. */
export function assignments(message: NotifyMessage): Map<string, string> {
  const pairs = message
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return new Map(pairs);
}
