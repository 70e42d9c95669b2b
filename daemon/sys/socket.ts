// AF_UNIX sockets: socket, bind, listen, accept4, connect, socketpair, SO_PEERCRED, shutdown and
// sendto for datagrams. Addresses are a filesystem path or an abstract name written `@name`.
// Struct layouts are those of x86-64 and arm64, which agree on everything used here.

import { constants } from 'node:os';

import { SysError, isErrno } from './errors.js';
import { check, libc } from './libc.js';

// bits/socket.h, asm-generic/socket.h (x86-64 and arm64 share them)
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** sizeof(struct sockaddr_un): sa_family_t then 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;
const SUN_PATH_MAX = 108;

const socket_ = libc.func('int socket(int domain, int type, int protocol)');
const bind_ = libc.func('int bind(int fd, const void *addr, unsigned int addrlen)');
const listen_ = libc.func('int listen(int fd, int backlog)');
const accept4_ = libc.func('int accept4(int fd, void *addr, void *addrlen, int flags)');
const connect_ = libc.func('int connect(int fd, const void *addr, unsigned int addrlen)');
const socketpair_ = libc.func('int socketpair(int domain, int type, int protocol, void *sv)');
const getsockopt_ = libc.func(
  'int getsockopt(int fd, int level, int name, void *value, void *valuelen)',
);
const shutdown_ = libc.func('int shutdown(int fd, int how)');
const sendto_ = libc.func(
  'long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, ' +
    'unsigned int addrlen)',
);

/** The credentials of the process at the other end, as the kernel recorded them at connect. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * struct sockaddr_un for a path, or for an abstract name given as `@name` (a leading NUL in
 * sun_path and no terminator: the length says where the name ends).
 */
export function sockaddrUn(address: string, call: string): { addr: Buffer; len: number } {
  const abstract = address.startsWith('@');
  const name = Buffer.from(abstract ? address.slice(1) : address);
  const used = abstract ? 1 + name.length : name.length + 1;
  if (used > SUN_PATH_MAX || name.length === 0) {
    throw new SysError(call, constants.errno.ENAMETOOLONG, address);
  }

  const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, abstract ? 3 : 2);
  return { addr, len: 2 + used };
}

export function socket(type: number): number {
  return check('socket', 'AF_UNIX', () => socket_(AF_UNIX, type, 0));
}

export function bind(fd: number, address: string): void {
  const { addr, len } = sockaddrUn(address, 'bind');
  check('bind', address, () => bind_(fd, addr, len));
}

export function listen(fd: number, backlog: number): void {
  check('listen', fd, () => listen_(fd, backlog));
}

/**
 * accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC. Returns null when no connection is waiting
 * (EAGAIN), so that an accept loop needs no exception to stop.
 */
export function accept(fd: number): number | null {
  try {
    return check('accept4', fd, () => accept4_(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC));
  } catch (err) {
    if (isErrno(err, 'EAGAIN')) return null;
    throw err;
  }
}

export function connect(fd: number, address: string): void {
  const { addr, len } = sockaddrUn(address, 'connect');
  check('connect', address, () => connect_(fd, addr, len));
}

/** A connected pair of AF_UNIX sockets of `type` (flags such as SOCK_CLOEXEC may be or'ed in). */
export function socketpair(type: number): [number, number] {
  const sv = Buffer.alloc(8);
  check('socketpair', 'AF_UNIX', () => socketpair_(AF_UNIX, type, 0, sv));
  return [sv.readInt32LE(0), sv.readInt32LE(4)];
}

/** getsockopt SO_PEERCRED: struct ucred is three ints, pid, uid, gid. */
export function getPeerCred(fd: number): PeerCred {
  const cred = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(cred.length, 0);
  check('getsockopt SO_PEERCRED', fd, () => getsockopt_(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return { pid: cred.readInt32LE(0), uid: cred.readUInt32LE(4), gid: cred.readUInt32LE(8) };
}

export function shutdown(fd: number, how: number): void {
  check('shutdown', fd, () => shutdown_(fd, how));
}

/** One datagram to `address` (path or `@abstract`); returns the bytes sent. */
export function sendto(fd: number, data: Buffer, address: string): number {
  const { addr, len } = sockaddrUn(address, 'sendto');
  return check('sendto', address, () =>
    Number(sendto_(fd, data, data.length, MSG_NOSIGNAL, addr, len)),
  );
}
