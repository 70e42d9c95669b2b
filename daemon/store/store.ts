// Checkpoints on disk: one directory per checkpoint under STATE/checkpoints, each written whole
// to a temporary directory, fsynced and renamed into place, so a crash leaves all or nothing.

import { constants as fsConstants, type Stats } from 'node:fs';
import { chmod, type FileHandle, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { TtycrError } from '../../rpc-schema/errors.js';
import type { Checkpoint } from '../../rpc-schema/image.js';
import { type Logger, silentLogger } from '../log.js';
import { decodeImage, encodeImage, MAX_IMAGE_BYTES } from './image.js';
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
  /** Largest image file saved or read; default MAX_IMAGE_BYTES (why that: see there). */
  maxImageBytes?: number;
  /** Tests only: called once the temporary directory is complete, before the rename. */
  beforeRename?: (tempDir: string) => Promise<void>;
  /** Tests only: called once the checkpoint is in place, before the store directory's fsync. */
  afterRename?: (finalDir: string) => Promise<void>;
}

export class CheckpointStore {
  readonly dir: string;
  private readonly log: Logger;
  private readonly maxImageBytes: number;
  private readonly beforeRename: StoreOptions['beforeRename'];
  private readonly afterRename: StoreOptions['afterRename'];
  /** Checkpoint directories, kept here: only this daemon writes the store. */
  private stored = 0;
  /**
   * Who made each readable checkpoint, learned at open and kept by save and delete, so that
   * counting a caller's checkpoints reads no image.
   */
  private readonly owners = new Map<string, number>();

  private constructor(dir: string, options: StoreOptions) {
    this.dir = dir;
    this.log = options.log ?? silentLogger;
    this.maxImageBytes = options.maxImageBytes ?? MAX_IMAGE_BYTES;
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
    for await (const entry of store.entries()) {
      if (entry.checkpoint) store.owners.set(entry.id, entry.checkpoint.uid);
    }
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
   * An image over maxImageBytes is LIMIT_EXCEEDED: load() would refuse to read it back.
   */
  async save(checkpoint: Checkpoint): Promise<void> {
    const bytes = encodeImage(checkpoint);
    if (bytes.length > this.maxImageBytes) {
      throw new TtycrError(
        'LIMIT_EXCEEDED',
        `checkpoint ${checkpoint.id}: image of ${bytes.length} bytes is over the ` +
          `${this.maxImageBytes} bytes the store takes`,
        { id: checkpoint.id, limit: 'image-bytes' },
      );
    }
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
    this.owners.set(checkpoint.id, checkpoint.uid);

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

  /**
   * The checkpoint with this id: NOT_FOUND, or IMAGE_CORRUPT saying what is wrong with it. What
   * sits in the store directory is not trusted to be what save() wrote: see readImage.
   */
  async load(id: string): Promise<Checkpoint> {
    const dir = this.pathOf(id);
    const path = join(dir, IMAGE_FILE);
    await checkCheckpointDir(dir, id);
    const bytes = await readImage(path, id, this.maxImageBytes);
    return decodeImage(bytes.toString('utf8'), id, path);
  }

  /**
   * Every stored checkpoint, oldest id first, read one at a time: a caller that keeps only what
   * it needs of each holds one image at once, however many the store has. One that cannot be
   * read carries its error.
   */
  async *entries(): AsyncGenerator<StoredCheckpoint> {
    const ids = (await readdir(this.dir)).filter((name) => idPattern.test(name)).sort();
    for (const id of ids) {
      try {
        yield { id, checkpoint: await this.load(id) };
      } catch (err) {
        if (!(err instanceof TtycrError)) throw err;
        // A checkpoint deleted while we listed is simply gone.
        if (err.reason === 'NOT_FOUND') continue;
        yield { id, error: err };
      }
    }
  }

  /** Every stored checkpoint, as entries() reads them, in one array. */
  async list(): Promise<StoredCheckpoint[]> {
    const out: StoredCheckpoint[] = [];
    for await (const entry of this.entries()) out.push(entry);
    return out;
  }

  /** How many checkpoints there are (readable or not), without touching the disk. */
  async count(): Promise<number> {
    return this.stored;
  }

  /** How many readable checkpoints `uid` made, without touching the disk. */
  countOwnedBy(uid: number): number {
    let n = 0;
    for (const owner of this.owners.values()) if (owner === uid) n++;
    return n;
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
      this.owners.delete(id);
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

/**
 * NOT_FOUND when `dir` is gone; IMAGE_CORRUPT unless it is a directory itself, not a symlink to
 * one (that would read an image from anywhere) nor a FIFO or device. The state directory is
 * root's alone (0700), so only root could swap it between this lstat and the open after it.
 */
async function checkCheckpointDir(dir: string, id: string): Promise<void> {
  let st: Stats;
  try {
    st = await lstat(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT') throw new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
    throw corrupt(id, `lstat ${dir}: ${errCode(err)}`, errCode(err));
  }
  if (!st.isDirectory()) {
    throw corrupt(id, `${dir} is a ${kindOf(st)}, not a checkpoint directory`);
  }
}

/** What an image is opened with; see readImage. */
const IMAGE_OPEN_FLAGS =
  fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY;

/**
 * The bytes of the image file at `path`, which must be a regular file of at most `maxBytes`.
 * O_NOFOLLOW refuses a symlink (ELOOP); O_NONBLOCK makes opening a FIFO return at once instead of
 * holding a threadpool thread until some writer appears, and the fstat then refuses it before a
 * read could wait; O_NOCTTY keeps a planted tty from becoming the daemon's controlling terminal.
 * Reading stops at the size fstat gave, so a file that grows meanwhile costs no more. Anything
 * else wrong is IMAGE_CORRUPT naming the call and errno. The bytes never go into a message.
 */
async function readImage(path: string, id: string, maxBytes: number): Promise<Buffer> {
  let file: FileHandle;
  try {
    file = await open(path, IMAGE_OPEN_FLAGS);
  } catch (err) {
    const code = errCode(err);
    // A checkpoint deleted while it was read (delete renames its directory, then removes it).
    if (code === 'ENOENT') throw new TtycrError('NOT_FOUND', `no checkpoint ${id}`, { id });
    if (code === 'ELOOP') throw corrupt(id, `${path} is a symlink, not an image file`, code);
    throw corrupt(id, `open ${path}: ${code}`, code);
  }

  try {
    const st = await file.stat().catch((err: unknown) => {
      throw corrupt(id, `fstat ${path}: ${errCode(err)}`, errCode(err));
    });
    if (!st.isFile()) throw corrupt(id, `${path} is a ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes) {
      throw corrupt(id, `${path} is ${st.size} bytes, over the ${maxBytes} an image may have`);
    }

    const bytes = Buffer.alloc(st.size);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await file
        .read(bytes, got, bytes.length - got, got)
        .catch((err: unknown) => {
          throw corrupt(id, `read ${path}: ${errCode(err)}`, errCode(err));
        });
      // A file that shrank meanwhile: what is there is decoded, and fails as truncated.
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return bytes.subarray(0, got);
  } finally {
    await file.close().catch(() => {});
  }
}

function corrupt(id: string, why: string, errno?: string): TtycrError {
  return new TtycrError('IMAGE_CORRUPT', `checkpoint ${id}: ${why}`, {
    id,
    ...(errno === undefined ? {} : { errno }),
  });
}

/** What kind of file `st` is, for a message. */
function kindOf(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'file of unknown type';
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
