// The CLI's commands that are one call each: call the daemon through TtycrClient and say what
// to print, as a table for people and as the call's result for --json.

import {
  createWriteStream,
  fchmodSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { create as createTar, extract as extractTar } from 'tar';

import type { TtycrClient } from './client.js';
import { UsageError } from './errors.js';
import * as format from './format.js';
import { count, withProgress } from './progress.js';

/** What a command answers: the document for --json and the text for a person. */
export interface Output {
  result: unknown;
  /** Printed with a newline; nothing at all when empty. */
  text: string;
  /** The exit code; default 0. */
  exitCode?: number;
}

export type Command<A> = (client: TtycrClient, args: A) => Promise<Output>;

export const status: Command<void> = async (client) => {
  const result = await client.status();
  return { result, text: format.formatStatus(result) };
};

export interface CheckpointArgs {
  pids: string[];
  tree?: boolean;
  name?: string;
  freeze?: boolean;
  freezer?: string;
  data?: boolean;
  kill?: boolean;
}

export const checkpoint: Command<CheckpointArgs> = async (client, args) => {
  const pids = args.pids.map((p) => positive(p, 'pid'));
  const what = `${count(pids.length, 'process')}${args.tree ? ' and their descendants' : ''}`;
  const call = client.checkpointCreate({
    pids,
    tree: args.tree ?? false,
    freeze: args.freeze ?? false,
    data: args.data ?? false,
    kill: args.kill ?? false,
    ...(args.name ? { name: args.name } : {}),
    ...(args.freezer ? { freezer: args.freezer } : {}),
  });
  const result = await withProgress(`checkpointing ${what}\u2026`, call);
  if (result.ttys.length === 0) {
    // Not an error (a runtime may checkpoint whatever it has), but a person wants to know.
    process.stderr.write(`ttycr: note: no tty found in ${what}; the checkpoint has none\n`);
  }
  return { result, text: format.formatCheckpointCreated(result) };
};

export const list: Command<void> = async (client) => {
  const result = await client.checkpointList();
  return { result, text: format.formatCheckpointList(result) };
};

export const show: Command<{ id: string }> = async (client, { id }) => {
  const result = await client.checkpointGet(id);
  return { result, text: format.formatCheckpoint(result) };
};

export const remove: Command<{ id: string }> = async (client, { id }) => {
  const result = await client.checkpointDelete(id);
  return { result, text: `deleted ${result.id}` };
};

export interface RestoreArgs {
  id: string;
  ptmx?: string;
  indexPolicy?: 'exact' | 'any';
  ttl?: string;
}

export const restore: Command<RestoreArgs> = async (client, args) => {
  const call = client.restoreStart({
    id: args.id,
    indexPolicy: args.indexPolicy ?? 'exact',
    ...(args.ptmx ? { ptmx: args.ptmx } : {}),
    ...(args.ttl ? { ttl: positive(args.ttl, 'ttl') } : {}),
  });
  const result = await withProgress(`restoring checkpoint ${args.id}\u2026`, call);
  return { result, text: format.formatRestore(result) };
};

export const restores: Command<void> = async (client) => {
  const result = await client.restoreList();
  return { result, text: format.formatRestoreList(result) };
};

export const cancel: Command<{ id: string }> = async (client, { id }) => {
  const result = await client.restoreCancel(id);
  return { result, text: `cancelled ${result.id}: closed ${result.closed} fds` };
};

/** The name of the image inside an exported tar file. */
const IMAGE_ENTRY = 'checkpoint.json';

/** `ttycr export ID FILE.tar`: the checkpoint image as checkpoint.json in a tar file. */
export const exportImage: Command<{ id: string; file: string }> = async (client, { id, file }) => {
  const { checkpoint } = await client.checkpointGet(id);
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-export-'));
  try {
    writeFileSync(join(dir, IMAGE_ENTRY), JSON.stringify(checkpoint, null, 2) + '\n', {
      mode: 0o600,
    });
    // As private as the image in the store: with --data it holds what was typed. An existing
    // file keeps its mode through open, so it is set on the fd before a byte is written.
    const fd = fileCall('write', file, () => openSync(file, 'w', 0o600));
    fchmodSync(fd, 0o600);
    await pipeline(
      createTar({ cwd: dir, portable: true }, [IMAGE_ENTRY]),
      createWriteStream('', { fd }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { result: { id, file }, text: `exported ${id} to ${file}` };
};

/** `ttycr import FILE.tar`: stores the image under a new id. */
export const importImage: Command<{ file: string; name?: string }> = async (client, args) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttycr-import-'));
  let checkpoint: unknown;
  try {
    await fileCall('read', args.file, () =>
      extractTar({ file: args.file, cwd: dir, filter: (path) => path === IMAGE_ENTRY }),
    );
    try {
      checkpoint = JSON.parse(readFileSync(join(dir, IMAGE_ENTRY), 'utf8'));
    } catch (err) {
      const why =
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? `no ${IMAGE_ENTRY} in it`
          : (err as Error).message;
      throw new UsageError(`${args.file} is not a ttycr export: ${why}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const result = await client.checkpointImport({
    checkpoint,
    ...(args.name ? { name: args.name } : {}),
  });
  return { result, text: result.id };
};

/**
 * Runs a call on a file the user named; a failure is theirs to fix (a path that is missing, a
 * directory, a file that is no tar at all): a usage error naming the file and the errno.
 */
function fileCall<T>(what: 'read' | 'write', file: string, body: () => T): T {
  const explain = (err: unknown): never => {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'TAR_BAD_ARCHIVE') {
      throw new UsageError(`${file} is not a ttycr export: not a tar file`);
    }
    throw new UsageError(`cannot ${what} ${file}: ${code ?? message}`);
  };
  try {
    const result = body();
    return result instanceof Promise ? (result.catch(explain) as T) : result;
  } catch (err) {
    return explain(err);
  }
}

/** A positive integer argument, or a usage error naming it. */
export function positive(text: string, what: string): number {
  if (!/^[1-9][0-9]*$/.test(text))
    throw new UsageError(`${what} must be a positive integer, not '${text}'`);
  return Number(text);
}
