// File descriptors: open, close, read, write, poll, fstat and the fcntl calls ttycr needs.

import { fstatSync } from 'node:fs';

import { SysError } from './errors.js';
import { check, libc, syscallNumber } from './libc.js';

// asm-generic/fcntl.h, which x86-64 and arm64 share for the flags below.
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_NOCTTY = 0o400;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_ASYNC = 0o20000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

/** The open-file flags that F_SETFL can change on a tty (fs/fcntl.c SETFL_MASK, less O_DIRECT). */
export const SETFL_FLAGS = O_APPEND | O_NONBLOCK | O_ASYNC;

// asm-generic/fcntl.h
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETSIG = 10;
const F_GETSIG = 11;
const F_SETOWN_EX = 15;
const F_GETOWN_EX = 16;
export const FD_CLOEXEC = 1;

/** f_owner_ex.type (include/uapi/asm-generic/fcntl.h). */
export const F_OWNER_TID = 0;
export const F_OWNER_PID = 1;
export const F_OWNER_PGRP = 2;

// poll.h
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;

const open_ = libc.func('int open(const char *path, int flags, int mode)');
const syscallOpenat2 = libc.func(
  'long syscall(long number, int dirfd, const char *path, void *how, unsigned long size)',
);
const OPENAT2 = syscallNumber('openat2');
const close_ = libc.func('int close(int fd)');
const dup_ = libc.func('int dup(int fd)');
const dup3_ = libc.func('int dup3(int oldfd, int newfd, int flags)');
const read_ = libc.func('long read(int fd, void *buf, unsigned long count)');
const write_ = libc.func('long write(int fd, const void *buf, unsigned long count)');
const poll_ = libc.func('int poll(void *fds, unsigned long nfds, int timeout)');
const fcntlInt = libc.func('int fcntl(int fd, int cmd, long arg)');
const fcntlPtr = libc.func('int fcntl(int fd, int cmd, void *arg)');

export function openPath(path: string, flags: number, mode = 0): number {
  return check('open', path, () => open_(path, flags, mode));
}

// linux/openat2.h
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_IN_ROOT = 0x10;

/**
 * openat2(2): opens `path` below `dirfd` with the lookup confined by `resolve`; with
 * RESOLVE_IN_ROOT, `..` and absolute symlinks stop at `dirfd`, as if it were the root.
 */
export function openat2(dirfd: number, path: string, flags: number, resolve: number): number {
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags), 0);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return check('openat2', path, () => Number(syscallOpenat2(OPENAT2, dirfd, path, how, 24)));
}

export function close(fd: number): void {
  check('close', fd, () => close_(fd));
}

/** Closes `fd`, ignoring errors: for cleanup paths, where the first error is the one to keep. */
export function closeQuietly(fd: number): void {
  if (fd >= 0) close_(fd);
}

export function dup(fd: number): number {
  return check('dup', fd, () => dup_(fd));
}

export function dup3(fd: number, target: number, flags: number): number {
  return check('dup3', fd, () => dup3_(fd, target, flags));
}

/** Reads once into `buf`; returns the byte count, 0 at end of file. */
export function read(fd: number, buf: Buffer, length = buf.length): number {
  return check('read', fd, () => Number(read_(fd, buf, length)));
}

/** Writes all of `data`, looping over short writes. */
export function writeAll(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) {
    const rest = done === 0 ? data : data.subarray(done);
    done += check('write', fd, () => Number(write_(fd, rest, rest.length)));
  }
}

/** poll() on one fd; returns revents, 0 on timeout. */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  const n = check('poll', fd, () => poll_(pfd, 1, timeoutMs));
  return n === 0 ? 0 : pfd.readInt16LE(6);
}

export function getfl(fd: number): number {
  return check('fcntl F_GETFL', fd, () => fcntlInt(fd, F_GETFL, 0));
}

export function setfl(fd: number, flags: number): void {
  check('fcntl F_SETFL', fd, () => fcntlInt(fd, F_SETFL, flags));
}

export function getfd(fd: number): number {
  return check('fcntl F_GETFD', fd, () => fcntlInt(fd, F_GETFD, 0));
}

export function setfd(fd: number, flags: number): void {
  check('fcntl F_SETFD', fd, () => fcntlInt(fd, F_SETFD, flags));
}

export function getsig(fd: number): number {
  return check('fcntl F_GETSIG', fd, () => fcntlInt(fd, F_GETSIG, 0));
}

export function setsig(fd: number, sig: number): void {
  check('fcntl F_SETSIG', fd, () => fcntlInt(fd, F_SETSIG, sig));
}

export interface Owner {
  type: number;
  pid: number;
}

export function getownEx(fd: number): Owner {
  const buf = Buffer.alloc(8);
  check('fcntl F_GETOWN_EX', fd, () => fcntlPtr(fd, F_GETOWN_EX, buf));
  return { type: buf.readInt32LE(0), pid: buf.readInt32LE(4) };
}

export function setownEx(fd: number, owner: Owner): void {
  const buf = Buffer.alloc(8);
  buf.writeInt32LE(owner.type, 0);
  buf.writeInt32LE(owner.pid, 4);
  check('fcntl F_SETOWN_EX', fd, () => fcntlPtr(fd, F_SETOWN_EX, buf));
}

export interface FdStat {
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
}

/** fstat through Node (no libc call needed), with the error in our form. */
export function fstat(fd: number): FdStat {
  try {
    const st = fstatSync(fd);
    return { dev: st.dev, ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, rdev: st.rdev };
  } catch (err) {
    throw new SysError('fstat', (err as NodeJS.ErrnoException).errno! * -1, `fd ${fd}`);
  }
}

/** major() and minor() of a Linux dev_t (include/linux/kdev_t.h, the 64-bit encoding). */
export function major(dev: number): number {
  const hi = Math.floor(dev / 2 ** 32);
  return ((dev >>> 8) & 0xfff) | (hi & ~0xfff);
}

export function minor(dev: number): number {
  const lo = dev >>> 0;
  return (lo & 0xff) | ((lo >>> 12) & 0xfff00);
}

/** makedev(): the dev_t of a major and minor number. */
export function makedev(maj: number, min: number): number {
  const lo = ((maj & 0xfff) << 8) | (min & 0xff) | ((min & 0xfff00) << 12);
  return (lo >>> 0) + Math.floor(maj / 0x1000) * 2 ** 44;
}
