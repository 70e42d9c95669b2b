// Checkpoints on disk: one directory per checkpoint under STATE/checkpoints, each written whole
// to a temporary directory, fsynced and renamed into place, so a crash leaves all or nothing.

import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Checkpoint } from '../../rpc-schema/image.js';
import { type Logger, silentLogger } from '../log.js';
import { decodeImage, encodeImage } from './image.js';
import { newCheckpointId, randomSuffix } from './ids.js';

const IMAGE_FILE = 'image.json';
const TEMP_PREFIX = '.tmp-';
const idPattern = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A checkpoint as listed: either its image or why it cannot be read. */
export type StoredCheckpoint =
  | { id: string; checkpoint: Checkpoint; error?: undefined }
  | { id: string; checkpoint?: undefined; error: TtycrError };

export interface StoreOptions {
  log?: Logger;
  /** Tests only: called once the temporary directory is complete, before the rename. */
  beforeRename?: (tempDir: string) => Promise<void>;
  /** Tests only: called once the checkpoint is in place, before the store directory's fsync. */
  afterRename?: (finalDir: string) => Promise<void>;
}

export class CheckpointStore {
  readonly dir: string;
  private readonly log: Logger;
  private readonly beforeRename: StoreOptions['beforeRename'];
  private readonly afterRename: StoreOptions['afterRename'];
  /** Checkpoint directories, kept here: only this daemon writes the store. */
  private stored = 0;

  private constructor(dir: string, options: StoreOptions) {
    this.dir = dir;
    this.log = options.log ?? silentLogger;
    this.beforeRename = options.beforeRename;
    this.afterRename = options.afterRename;
  }

  /**
   * Opens (creating it if needed) the store under `stateDir`, and removes what a crash may have
   * left: temporary directories of unfinished writes and deletes.
   */
  static async open(stateDir: string, options: StoreOptions = {}): Promise<CheckpointStore> {
    const store = new CheckpointStore(join(stateDir, 'checkpoints'), options);
    await makePrivateDir(stateDir);
    await makePrivateDir(store.dir);

    for (const name of await readdir(store.dir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      await rm(join(store.dir, name), { recursive: true, force: true });
      store.log.warn('removed unfinished checkpoint write', { path: join(store.dir, name) });
    }
    store.stored = (await readdir(store.dir)).filter((name) => idPattern.test(name)).length;
    return store;
  }

  /** A fresh id that no stored checkpoint has. */
  async newId(): Promise<string> {
    for (;;) {
      const id = newCheckpointId();
      if (!(await this.exists(id))) return id;
    }
  }

  /**
   * Writes a checkpoint under its id, durably, or throws and leaves nothing behind. Once the
   * rename put it in place it is saved: a failing fsync of the store directory only warns.
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const bytes = encodeImage(checkpoint);
    const finalDir = this.pathOf(checkpoint.id);
    const tempDir = join(this.dir, `${TEMP_PREFIX}${checkpoint.id}-${randomSuffix(6)}`);

    try {
      await makePrivateDir(tempDir);
      await writeDurably(join(tempDir, IMAGE_FILE), bytes);
      await syncDir(tempDir);
      await this.beforeRename?.(tempDir);

      if (await this.exists(checkpoint.id)) {
        throw new TtycrError('BUSY', `checkpoint ${checkpoint.id} already exists`);
      }
      await rename(tempDir, finalDir);
    } catch (err) {
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
    this.stored++;

    // The rename is the commit point: from here on every request sees the checkpoint, so a
    // failing fsync must not report the save as failed. Only surviving a crash is in doubt.
    await this.afterRename?.(finalDir);
    await syncDir(this.dir).catch((err: unknown) => {
      this.log.warn('checkpoint saved, store directory not synced', {
        checkpoint: checkpoint.id,
        path: this.dir,
        error: errCode(err),
      });
    });
  }

  /** The checkpoint with this id: NOT_FOUND, or IMAGE_CORRUPT saying what is wrong with it. */
  async load(id: string): Promise<Checkpoint> {
    const path = join(this.pathOf(id), IMAGE_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
      }
      throw new TtycrError('IMAGE_CORRUPT', `checkpoint ${id}: read ${path}: ${errCode(err)}`, {
        id,
        errno: errCode(err),
      });
    }
    return decodeImage(text, id);
  }

  /** Every stored checkpoint, oldest id first; one that cannot be read carries its error. */
  async list(): Promise<StoredCheckpoint[]> {
    const ids = (await readdir(this.dir)).filter((name) => idPattern.test(name)).sort();
    const out: StoredCheckpoint[] = [];
    for (const id of ids) {
      try {
        out.push({ id, checkpoint: await this.load(id) });
      } catch (err) {
        if (!(err instanceof TtycrError)) throw err;
        // A checkpoint deleted while we listed is simply gone.
        if (err.reason === 'NOT_FOUND') continue;
        out.push({ id, error: err });
      }
    }
    return out;
  }

  /** How many checkpoints there are (readable or not), without touching the disk. */
  async count(): Promise<number> {
    return this.stored;
  }

  /**
   * Deletes a checkpoint. It is first renamed to a temporary name, so a crash in the middle
   * never leaves a half-deleted checkpoint that still lists.
   */
  async delete(id: string): Promise<void> {
    const doomed = join(this.dir, `${TEMP_PREFIX}del-${id}-${randomSuffix(6)}`);
    try {
      await rename(this.pathOf(id), doomed);
      this.stored--;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
      }
      throw err;
    }

    await syncDir(this.dir);
    await rm(doomed, { recursive: true, force: true });
  }

  async exists(id: string): Promise<boolean> {
    try {
      await (await open(this.pathOf(id), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY)).close();
      return true;
    } catch {
      return false;
    }
  }

  private pathOf(id: string): string {
    if (!idPattern.test(id)) throw new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
    return join(this.dir, id);
  }
}

/** mkdir -p with mode 0700, whatever the umask; an existing directory is tightened to 0700. */
async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Creates `path` (it must not exist) with mode 0600, writes `bytes` and fsyncs the file. */
async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** fsync on a directory, so a rename or a new entry in it survives a crash. */
async function syncDir(path: string): Promise<void> {
  const dir = await open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
