// epoll and eventfd: the readiness calls the transport's reactor is built on.
//
// struct epoll_event is { uint32 events; uint64 data } and is packed on x86-64 only
// (include/uapi/linux/eventpoll.h, EPOLL_PACKED): 12 bytes with data at 4 there, 16 bytes with
// data at 8 on arm64. ttycr keeps a 32-bit registration id in the low half of data.

import { check, libc } from './libc.js';

// include/uapi/linux/eventpoll.h
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;

// include/uapi/linux/eventfd.h
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

const packed = process.arch === 'x64';
export const EPOLL_EVENT_SIZE = packed ? 12 : 16;
const DATA_OFFSET = packed ? 4 : 8;

const epollCreate1_ = libc.func('int epoll_create1(int flags)');
const epollCtl_ = libc.func('int epoll_ctl(int epfd, int op, int fd, void *event)');
const epollWait_ = libc.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
const eventfd_ = libc.func('int eventfd(unsigned int initval, int flags)');
const write_ = libc.func('long write(int fd, const void *buf, unsigned long count)');
const read_ = libc.func('long read(int fd, void *buf, unsigned long count)');

export function epollCreate(): number {
  return check('epoll_create1', 'EPOLL_CLOEXEC', () => epollCreate1_(EPOLL_CLOEXEC));
}

const ctlEvent = Buffer.alloc(16);

function ctl(epfd: number, op: number, name: string, fd: number, events: number, id: number) {
  ctlEvent.fill(0);
  ctlEvent.writeUInt32LE(events >>> 0, 0);
  ctlEvent.writeUInt32LE(id >>> 0, DATA_OFFSET);
  check(`epoll_ctl ${name}`, fd, () => epollCtl_(epfd, op, fd, ctlEvent));
}

export function epollAdd(epfd: number, fd: number, events: number, id: number): void {
  ctl(epfd, EPOLL_CTL_ADD, 'EPOLL_CTL_ADD', fd, events, id);
}

export function epollModify(epfd: number, fd: number, events: number, id: number): void {
  ctl(epfd, EPOLL_CTL_MOD, 'EPOLL_CTL_MOD', fd, events, id);
}

export function epollDelete(epfd: number, fd: number): void {
  ctl(epfd, EPOLL_CTL_DEL, 'EPOLL_CTL_DEL', fd, 0, 0);
}

/** A buffer for `count` epoll_events. */
export function epollEvents(count: number): Buffer {
  return Buffer.alloc(EPOLL_EVENT_SIZE * count);
}

/** epoll_wait; returns the number of events in `events`. Timeout 0 never blocks. */
export function epollWait(epfd: number, events: Buffer, timeoutMs: number): number {
  const max = events.length / EPOLL_EVENT_SIZE;
  return check('epoll_wait', epfd, () => epollWait_(epfd, events, max, timeoutMs));
}

export function eventFlags(events: Buffer, i: number): number {
  return events.readUInt32LE(i * EPOLL_EVENT_SIZE);
}

export function eventId(events: Buffer, i: number): number {
  return events.readUInt32LE(i * EPOLL_EVENT_SIZE + DATA_OFFSET);
}

/** A non-blocking, close-on-exec eventfd. */
export function eventfd(): number {
  return check('eventfd', 'EFD_NONBLOCK', () => eventfd_(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

const one = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
const counter = Buffer.alloc(8);

/** Adds one to the eventfd's counter, which makes it readable. */
export function eventfdSignal(fd: number): void {
  check('write', fd, () => Number(write_(fd, one, 8)));
}

/** Resets the counter; a no-op when it is already zero (EAGAIN). */
export function eventfdDrain(fd: number): void {
  read_(fd, counter, 8);
}
