// sendmsg and recvmsg on AF_UNIX sockets, with file descriptors in SCM_RIGHTS ancillary data.
//
// struct msghdr, iovec and cmsghdr are laid out by hand in Buffers; x86-64 and arm64 share the
// LP64 layout: msghdr is name@0 namelen@8 iov@16 iovlen@24 control@32 controllen@40 flags@48
// (56 bytes), iovec is base@0 len@8 (16 bytes), cmsghdr is len@0 level@8 type@12 data@16.

import { isErrno } from './errors.js';
import { check, koffi, libc } from './libc.js';
import { MSG_DONTWAIT, MSG_NOSIGNAL, SOL_SOCKET } from './socket.js';

// bits/socket.h
const SCM_RIGHTS = 1;
const MSG_CTRUNC = 0x8;
const MSG_CMSG_CLOEXEC = 0x40000000;

/** SCM_MAX_FD (include/net/scm.h): the most fds one message may carry. */
export const SCM_MAX_FD = 253;

const MSGHDR_SIZE = 56;
const IOVEC_SIZE = 16;
const CMSG_HDR = 16;

/** The most iovecs one send gathers; well under UIO_MAXIOV (1024). */
export const MAX_IOV = 64;

const sendmsg_ = libc.func('long sendmsg(int fd, const void *msg, int flags)');
const recvmsg_ = libc.func('long recvmsg(int fd, void *msg, int flags)');

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** CMSG_SPACE for `count` fds: the control buffer room a message with them needs. */
export function fdSpace(count: number): number {
  return CMSG_HDR + align8(4 * count);
}

// Buffers reused by every call: the main thread makes one call at a time, and the kernel is done
// with them when the call returns.
const sendHdr = Buffer.alloc(MSGHDR_SIZE);
const sendIov = Buffer.alloc(IOVEC_SIZE * MAX_IOV);
const sendControl = Buffer.alloc(fdSpace(SCM_MAX_FD));
const recvHdr = Buffer.alloc(MSGHDR_SIZE);
const recvIov = Buffer.alloc(IOVEC_SIZE);
const recvControl = Buffer.alloc(fdSpace(SCM_MAX_FD));

// The fixed parts of both headers are written once: name unused, one iovec array each.
const sendControlAddress = koffi.address(sendControl);
const recvControlAddress = koffi.address(recvControl);
sendHdr.writeBigUInt64LE(koffi.address(sendIov), 16);
recvHdr.writeBigUInt64LE(koffi.address(recvIov), 16);
recvHdr.writeBigUInt64LE(1n, 24);
/** The buffer recvIov points at now. */
let recvTarget: Buffer | null = null;

/**
 * One sendmsg of `chunks` (gathered, at most MAX_IOV) with `fds` in one SCM_RIGHTS message.
 * Non-blocking whatever the socket's mode, and never raises SIGPIPE. Returns the bytes sent
 * (the fds went out with the first of them), or null when the socket buffer is full (EAGAIN).
 */
export function sendWithFds(fd: number, chunks: Buffer[], fds: readonly number[]): number | null {
  if (chunks.length > MAX_IOV) throw new RangeError(`sendmsg: ${chunks.length} chunks`);
  if (fds.length > SCM_MAX_FD) throw new RangeError(`sendmsg: ${fds.length} fds`);

  chunks.forEach((chunk, i) => {
    sendIov.writeBigUInt64LE(koffi.address(chunk), i * IOVEC_SIZE);
    sendIov.writeBigUInt64LE(BigInt(chunk.length), i * IOVEC_SIZE + 8);
  });
  sendHdr.writeBigUInt64LE(BigInt(chunks.length), 24);

  if (fds.length === 0) {
    sendHdr.writeBigUInt64LE(0n, 32);
    sendHdr.writeBigUInt64LE(0n, 40);
  } else {
    const len = CMSG_HDR + 4 * fds.length;
    sendControl.fill(0, 0, fdSpace(fds.length));
    sendControl.writeBigUInt64LE(BigInt(len), 0);
    sendControl.writeInt32LE(SOL_SOCKET, 8);
    sendControl.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((passed, i) => sendControl.writeInt32LE(passed, CMSG_HDR + 4 * i));
    sendHdr.writeBigUInt64LE(sendControlAddress, 32);
    sendHdr.writeBigUInt64LE(BigInt(fdSpace(fds.length)), 40);
  }

  try {
    // The chunks must stay referenced until the call returns; they are, through `chunks`.
    return check('sendmsg', fd, () => Number(sendmsg_(fd, sendHdr, MSG_NOSIGNAL | MSG_DONTWAIT)));
  } catch (err) {
    if (isErrno(err, 'EAGAIN')) return null;
    throw err;
  }
}

export interface Received {
  /** Bytes read into the buffer; 0 at end of stream. */
  bytes: number;
  /** The fds that arrived, already close-on-exec; the caller owns them. */
  fds: number[];
  /** MSG_CTRUNC: more fds were sent than there was room for; the kernel dropped the rest. */
  truncated: boolean;
}

/**
 * One recvmsg into `buf` with room for `maxFds` fds (MSG_CMSG_CLOEXEC). Returns null when
 * nothing is waiting (EAGAIN). The kernel ends a read right after the part of the stream that
 * carried fds, so fds always belong to the last bytes of the read they came with.
 */
export function recvWithFds(fd: number, buf: Buffer, maxFds: number): Received | null {
  const room = maxFds > 0 ? fdSpace(Math.min(maxFds, SCM_MAX_FD)) : 0;
  if (buf !== recvTarget) {
    recvTarget = buf;
    recvIov.writeBigUInt64LE(koffi.address(buf), 0);
    recvIov.writeBigUInt64LE(BigInt(buf.length), 8);
  }
  recvHdr.writeBigUInt64LE(room > 0 ? recvControlAddress : 0n, 32);
  recvHdr.writeBigUInt64LE(BigInt(room), 40);
  recvHdr.writeInt32LE(0, 48);

  let bytes: number;
  try {
    bytes = check('recvmsg', fd, () =>
      Number(recvmsg_(fd, recvHdr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)),
    );
  } catch (err) {
    if (isErrno(err, 'EAGAIN')) return null;
    throw err;
  }

  const flags = recvHdr.readInt32LE(48);
  const controlLen = Number(recvHdr.readBigUInt64LE(40));
  return { bytes, fds: parseRights(controlLen), truncated: (flags & MSG_CTRUNC) !== 0 };
}

/** The fds of every SCM_RIGHTS message in the first `length` bytes of the control buffer. */
function parseRights(length: number): number[] {
  const fds: number[] = [];
  let at = 0;
  while (at + CMSG_HDR <= length) {
    const len = Number(recvControl.readBigUInt64LE(at));
    if (len < CMSG_HDR || at + len > length) break;
    const level = recvControl.readInt32LE(at + 8);
    const type = recvControl.readInt32LE(at + 12);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let p = at + CMSG_HDR; p + 4 <= at + len; p += 4) fds.push(recvControl.readInt32LE(p));
    }
    at += align8(len);
  }
  return fds;
}
