// uv_poll on Node's own event loop: readiness of one fd reported on the main thread, with no
// thread of ours. libuv is part of the running process (linked into node, or libuv.so.1 on
// distributions that build node against it), so its functions are found in the process itself.
// Main thread only: Node's main loop is uv_default_loop(); worker threads have their own.

import { SysError } from './errors.js';
import { koffi } from './libc.js';

// uv.h: uv_handle_type and uv_poll_event
const UV_POLL = 8;
export const UV_READABLE = 1;

const uv = koffi.load(null);
const uvDefaultLoop = uv.func('void *uv_default_loop()');
const uvHandleSize = uv.func('size_t uv_handle_size(int type)');
const PollCallback = koffi.proto('void uv_poll_cb(void *handle, int status, int events)');
const CloseCallback = koffi.proto('void uv_close_cb(void *handle)');
const uvPollInit = uv.func('int uv_poll_init(void *loop, void *handle, int fd)');
const uvPollStart = uv.func('int uv_poll_start(void *handle, int events, uv_poll_cb *cb)');
const uvPollStop = uv.func('int uv_poll_stop(void *handle)');
const uvClose = uv.func('void uv_close(void *handle, uv_close_cb *cb)');

const handleSize = Number(uvHandleSize(UV_POLL));

type Callback = ReturnType<typeof koffi.register>;

/**
 * Handles between uv_close and its close callback, with their poll callbacks: libuv still owns
 * the memory, and the poll callback may be the one running when close() is called.
 */
const closing = new Map<bigint, { handle: Buffer; callback: Callback }>();
const onClosed = koffi.register((handle: unknown) => {
  const address = koffi.address(handle);
  const entry = closing.get(address);
  if (entry) koffi.unregister(entry.callback);
  closing.delete(address);
}, koffi.pointer(CloseCallback));

/** libuv returns negated errno values. */
function checkUv(call: string, fd: number, ret: number): void {
  if (ret < 0) throw new SysError(call, -ret, `fd ${fd}`);
}

export interface UvPoll {
  /** Stops watching and frees the handle; the fd itself stays open. */
  close(): void;
}

/**
 * Watches `fd` for readability on Node's loop; `onReadable` runs on the main thread each loop
 * iteration the fd is readable (level-triggered). While it watches, the process stays alive.
 */
export function pollReadable(fd: number, onReadable: () => void): UvPoll {
  const handle = Buffer.alloc(handleSize);
  checkUv('uv_poll_init', fd, uvPollInit(uvDefaultLoop(), handle, fd));

  const callback = koffi.register(() => onReadable(), koffi.pointer(PollCallback));
  const ret = uvPollStart(handle, UV_READABLE, callback);
  if (ret < 0) {
    release(handle, callback);
    checkUv('uv_poll_start', fd, ret);
  }

  let open = true;
  return {
    close: () => {
      if (!open) return;
      open = false;
      uvPollStop(handle);
      release(handle, callback);
    },
  };
}

function release(handle: Buffer, callback: Callback): void {
  closing.set(koffi.address(handle), { handle, callback });
  uvClose(handle, onClosed);
}
