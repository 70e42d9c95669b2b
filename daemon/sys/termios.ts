// Terminal attributes and job control ioctls that apply to any tty (asm-generic/ioctls.h,
// asm-generic/termbits.h; x86-64 and arm64 share them).

import { ioctlBuf, ioctlGetInt, ioctlSetInt, ioctlVal } from './ioctl.js';

const TCGETS2 = 0x802c542a;
const TCSETS2 = 0x402c542b;
const TIOCGLCKTRMIOS = 0x5456;
const TIOCSLCKTRMIOS = 0x5457;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
const TIOCGETD = 0x5424;
const TIOCSETD = 0x5423;
const TIOCEXCL = 0x540c;
const TIOCNXCL = 0x540d;
const TIOCGEXCL = 0x80045440;
const TIOCSCTTY = 0x540e;
const TIOCGPGRP = 0x540f;
const TIOCSPGRP = 0x5410;
const TIOCGSID = 0x5429;
const TIOCINQ = 0x541b;
const TIOCGDEV = 0x80045432;

/** Number of control characters in the kernel's struct termios (asm-generic/termbits.h). */
export const NCCS = 19;

/** The kernel's struct termios is 36 bytes; struct termios2 adds two speeds: 44. */
export const TERMIOS_SIZE = 36;
export const TERMIOS2_SIZE = 44;

// c_cc indices (asm-generic/termbits.h).
export const VINTR = 0;
export const VERASE = 2;
export const VKILL = 3;
export const VEOF = 4;
export const VTIME = 5;
export const VSTART = 8;
export const VSTOP = 9;
export const VMIN = 6;
export const VEOL = 11;
export const VREPRINT = 12;
export const VWERASE = 14;
export const VLNEXT = 15;
export const VEOL2 = 16;

// c_lflag and c_oflag bits (asm-generic/termbits.h).
export const ISIG = 0o1;
export const ICANON = 0o2;
export const ECHO = 0o10;
export const IEXTEN = 0o100000;
export const OPOST = 0o1;
export const IXON = 0o2000;

/** struct termios2, field by field; speeds are 0 in a locked termios (struct termios). */
export interface Termios {
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  line: number;
  cc: number[];
  ispeed: number;
  ospeed: number;
}

export interface Winsize {
  rows: number;
  cols: number;
  xpixel: number;
  ypixel: number;
}

export function decodeTermios(buf: Buffer): Termios {
  const long = buf.length >= TERMIOS2_SIZE;
  return {
    iflag: buf.readUInt32LE(0),
    oflag: buf.readUInt32LE(4),
    cflag: buf.readUInt32LE(8),
    lflag: buf.readUInt32LE(12),
    line: buf[16]!,
    cc: Array.from(buf.subarray(17, 17 + NCCS)),
    ispeed: long ? buf.readUInt32LE(36) : 0,
    ospeed: long ? buf.readUInt32LE(40) : 0,
  };
}

export function encodeTermios(t: Termios, size: number): Buffer {
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(t.iflag >>> 0, 0);
  buf.writeUInt32LE(t.oflag >>> 0, 4);
  buf.writeUInt32LE(t.cflag >>> 0, 8);
  buf.writeUInt32LE(t.lflag >>> 0, 12);
  buf[16] = t.line;
  for (let i = 0; i < NCCS; i++) buf[17 + i] = t.cc[i] ?? 0;
  if (size >= TERMIOS2_SIZE) {
    buf.writeUInt32LE(t.ispeed >>> 0, 36);
    buf.writeUInt32LE(t.ospeed >>> 0, 40);
  }
  return buf;
}

/** TCGETS2: the termios with exact input and output speeds (BOTHER keeps custom ones). */
export function tcgets2(fd: number): Termios {
  const buf = Buffer.alloc(TERMIOS2_SIZE);
  ioctlBuf(fd, TCGETS2, 'TCGETS2', buf);
  return decodeTermios(buf);
}

export function tcsets2(fd: number, t: Termios): void {
  ioctlBuf(fd, TCSETS2, 'TCSETS2', encodeTermios(t, TERMIOS2_SIZE));
}

/** TIOCGLCKTRMIOS: which termios bits are locked (struct termios, no speeds). */
export function getLockedTermios(fd: number): Termios {
  const buf = Buffer.alloc(TERMIOS_SIZE);
  ioctlBuf(fd, TIOCGLCKTRMIOS, 'TIOCGLCKTRMIOS', buf);
  return decodeTermios(buf);
}

/** TIOCSLCKTRMIOS needs CAP_SYS_ADMIN. */
export function setLockedTermios(fd: number, t: Termios): void {
  ioctlBuf(fd, TIOCSLCKTRMIOS, 'TIOCSLCKTRMIOS', encodeTermios(t, TERMIOS_SIZE));
}

export function getWinsize(fd: number): Winsize {
  const buf = Buffer.alloc(8);
  ioctlBuf(fd, TIOCGWINSZ, 'TIOCGWINSZ', buf);
  return {
    rows: buf.readUInt16LE(0),
    cols: buf.readUInt16LE(2),
    xpixel: buf.readUInt16LE(4),
    ypixel: buf.readUInt16LE(6),
  };
}

export function setWinsize(fd: number, ws: Winsize): void {
  const buf = Buffer.alloc(8);
  buf.writeUInt16LE(ws.rows, 0);
  buf.writeUInt16LE(ws.cols, 2);
  buf.writeUInt16LE(ws.xpixel, 4);
  buf.writeUInt16LE(ws.ypixel, 6);
  ioctlBuf(fd, TIOCSWINSZ, 'TIOCSWINSZ', buf);
}

/** TIOCGETD: the line discipline of the tty this fd is on (not its pty peer's). */
export function getLineDiscipline(fd: number): number {
  return ioctlGetInt(fd, TIOCGETD, 'TIOCGETD');
}

export function setLineDiscipline(fd: number, ldisc: number): void {
  ioctlSetInt(fd, TIOCSETD, 'TIOCSETD', ldisc);
}

/** TIOCGEXCL: exclusive mode of the tty this fd is on; a pty's two ends have one each. */
export function getExclusive(fd: number): boolean {
  return ioctlGetInt(fd, TIOCGEXCL, 'TIOCGEXCL') !== 0;
}

export function setExclusive(fd: number, on: boolean): void {
  ioctlVal(fd, on ? TIOCEXCL : TIOCNXCL, on ? 'TIOCEXCL' : 'TIOCNXCL', 0);
}

/** TIOCSCTTY: make this tty the caller's controlling tty; `steal` takes it from another session. */
export function setControllingTty(fd: number, steal = false): void {
  ioctlVal(fd, TIOCSCTTY, 'TIOCSCTTY', steal ? 1 : 0);
}

/** TIOCGPGRP: the foreground process group (0 if none); on a pty master it answers for the pts. */
export function getForegroundGroup(fd: number): number {
  return ioctlGetInt(fd, TIOCGPGRP, 'TIOCGPGRP');
}

export function setForegroundGroup(fd: number, pgrp: number): void {
  ioctlSetInt(fd, TIOCSPGRP, 'TIOCSPGRP', pgrp);
}

/** TIOCGSID: the session the tty controls; on a pty master it answers for the pts. */
export function getSession(fd: number): number {
  return ioctlGetInt(fd, TIOCGSID, 'TIOCGSID');
}

/** TIOCINQ: bytes readable now (in canonical mode, only complete lines count). */
export function inputQueued(fd: number): number {
  return ioctlGetInt(fd, TIOCINQ, 'TIOCINQ');
}

/** TIOCGDEV: the device number of the tty behind this fd (the pts behind a /dev/tty fd). */
export function getTtyDevice(fd: number): number {
  const buf = Buffer.alloc(4);
  ioctlBuf(fd, TIOCGDEV, 'TIOCGDEV', buf);
  return buf.readUInt32LE(0);
}
