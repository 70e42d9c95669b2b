// Unix98 pty ioctls on a ptmx (master) fd (asm-generic/ioctls.h).

import { O_CLOEXEC, O_NOCTTY, O_RDWR, openPath } from './fd.js';
import { ioctlGetInt, ioctlSetInt, ioctlVal } from './ioctl.js';

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTLCK = 0x80045439;
const TIOCPKT = 0x5420;
const TIOCGPKT = 0x80045438;
const TIOCGPTPEER = 0x5441;

/** Opens a new pty master on `ptmx`; the kernel gives it the lowest free index. Never a ctty. */
export function openPtmx(ptmx: string, extraFlags = 0): number {
  return openPath(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | extraFlags);
}

/** TIOCGPTN: the pty's index, N in /dev/pts/N. */
export function getPtyIndex(ptmx: number): number {
  return ioctlGetInt(ptmx, TIOCGPTN, 'TIOCGPTN');
}

export function getPtyLock(ptmx: number): boolean {
  return ioctlGetInt(ptmx, TIOCGPTLCK, 'TIOCGPTLCK') !== 0;
}

/** TIOCSPTLCK: a locked pty's pts cannot be opened; a new pty starts locked. */
export function setPtyLock(ptmx: number, locked: boolean): void {
  ioctlSetInt(ptmx, TIOCSPTLCK, 'TIOCSPTLCK', locked ? 1 : 0);
}

export function getPacketMode(ptmx: number): boolean {
  return ioctlGetInt(ptmx, TIOCGPKT, 'TIOCGPKT') !== 0;
}

export function setPacketMode(ptmx: number, on: boolean): void {
  ioctlSetInt(ptmx, TIOCPKT, 'TIOCPKT', on ? 1 : 0);
}

/**
 * TIOCGPTPEER: opens the pts of this master without a path lookup, so it is always the right
 * devpts instance. Pass O_PATH to look at the node (fstat) without opening the tty.
 */
export function openPeer(ptmx: number, flags: number): number {
  return ioctlVal(ptmx, TIOCGPTPEER, 'TIOCGPTPEER', flags | O_NOCTTY | O_CLOEXEC);
}
