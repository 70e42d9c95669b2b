// ioctl(2) in the three shapes ttycr uses, declared with fixed arity: koffi calls a fixed
// prototype with a Buffer several times faster than the variadic one with a struct object.

import { check, libc } from './libc.js';

const ioctlPtr = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
const ioctlLong = libc.func('int ioctl(int fd, unsigned long request, long arg)');

/** ioctl with a pointer argument: the kernel reads or fills `buf`. */
export function ioctlBuf(fd: number, request: number, name: string, buf: Buffer): number {
  return check(`ioctl ${name}`, fd, () => ioctlPtr(fd, request, buf));
}

/** ioctl with a plain integer argument (or none: pass 0). Returns the call's result. */
export function ioctlVal(fd: number, request: number, name: string, value: number): number {
  return check(`ioctl ${name}`, fd, () => ioctlLong(fd, request, value));
}

/** ioctl that reads one int back. */
export function ioctlGetInt(fd: number, request: number, name: string): number {
  const buf = Buffer.alloc(4);
  ioctlBuf(fd, request, name, buf);
  return buf.readInt32LE(0);
}

/** ioctl that passes a pointer to one int. */
export function ioctlSetInt(fd: number, request: number, name: string, value: number): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value, 0);
  ioctlBuf(fd, request, name, buf);
}
