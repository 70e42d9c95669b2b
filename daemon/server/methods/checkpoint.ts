// checkpoint.create, .list, .get, .delete and .import: the engine's dump and the store.

import { TtycrError } from '../../../rpc-schema/errors.js';
import { type Checkpoint, CheckpointSchema } from '../../../rpc-schema/image.js';
import { decodeImage, encodeImage, firstIssue } from '../../store/image.js';
import { readTree } from '../../tty/proc.js';
import { checkMayDump, isRoot, maySee, type PeerCred } from '../access.js';
import { UidCounts } from '../uid-counts.js';
import { type DaemonParts, type Handlers, loadVisible, type ParamsOf } from './context.js';
import { checkpointSummary, ttySummary } from './summary.js';

type CheckpointMethod =
  | 'checkpoint.create'
  | 'checkpoint.list'
  | 'checkpoint.get'
  | 'checkpoint.delete'
  | 'checkpoint.import';

export function checkpointMethods(parts: DaemonParts): Handlers<CheckpointMethod> {
  const { store, engine, log } = parts;
  /** Unreadable images already warned about: each is reported once, not on every list. */
  const warned = new Set<string>();
  /** Checkpoints being made or imported, per uid, not yet in the store's count. */
  const making = new UidCounts();

  /**
   * Runs `body`, which stores one checkpoint for `peer`, if a caller other than root has room
   * for one more: images cost the daemon disk and, as they are read, memory.
   */
  async function withStoreRoom<T>(peer: PeerCred, body: () => Promise<T>): Promise<T> {
    if (isRoot(peer)) return body();
    const max = parts.server.limits.maxCheckpointsPerUid;
    const held = store.countOwnedBy(peer.uid) + making.of(peer.uid);
    if (held >= max) {
      throw new TtycrError(
        'LIMIT_EXCEEDED',
        `uid ${peer.uid} has ${held} checkpoints, the most one user may keep (${max}): ` +
          "delete some with 'ttycr rm'",
        { limit: 'checkpoints-per-uid' },
      );
    }
    making.add(peer.uid);
    try {
      return await body();
    } finally {
      making.remove(peer.uid);
    }
  }

  return {
    'checkpoint.create': async (params, { peer }) => {
      await checkDumpAccess(peer, params);
      const id = await store.newId();
      log.info('checkpoint started', { checkpoint: id, pids: params.pids, uid: peer.uid });

      const checkpoint = await withStoreRoom(peer, () =>
        engine.dump(params.pids, {
          id,
          name: params.name ?? null,
          uid: peer.uid,
          tree: params.tree,
          freeze: params.freeze,
          freezer: params.freezer,
          data: params.data,
          kill: params.kill,
          // The image is on disk before any task is killed or thawed.
          commit: (image) => store.save(image),
          // Asked again for every task once pinned and stopped: pids can be reused, trees grow,
          // and a task can exec a setuid program between the first check and the dump.
          authorize: isRoot(peer) ? undefined : (pid) => checkMayDump(peer, pid),
          log,
        }),
      );

      const ttys = checkpoint.ttys.map(ttySummary);
      log.info('checkpoint created', {
        checkpoint: id,
        ttys: ttys.length,
        tasks: checkpoint.tasks.length,
      });
      return {
        id,
        name: checkpoint.name,
        pids: checkpoint.tasks.map((task) => task.pid),
        ttys,
        files: checkpoint.files.length,
      };
    },

    'checkpoint.list': async (_params, { peer }) => {
      const checkpoints = [];
      for await (const entry of store.entries()) {
        if (entry.error) {
          if (warned.has(entry.id)) continue;
          warned.add(entry.id);
          log.warn('skipped unreadable checkpoint', {
            checkpoint: entry.id,
            error: entry.error.message,
          });
          continue;
        }
        if (maySee(peer, entry.checkpoint.uid))
          checkpoints.push(checkpointSummary(entry.checkpoint));
      }
      return { checkpoints };
    },

    'checkpoint.get': async ({ id }, { peer }) => {
      const checkpoint = await loadVisible(store, peer, id);
      return { checkpoint, ttys: checkpoint.ttys.map(ttySummary) };
    },

    'checkpoint.delete': async ({ id }, { peer }) => {
      // An image nobody can read has no owner to compare with: only root may delete it.
      await loadVisible(store, peer, id).catch((err: unknown) => {
        if (err instanceof TtycrError && err.reason === 'IMAGE_CORRUPT') return null;
        throw err;
      });

      await store.delete(id);
      log.info('checkpoint deleted', { checkpoint: id, uid: peer.uid });
      return { id, deleted: true as const };
    },

    'checkpoint.import': async (params, { peer }) => {
      const imported = parseImported(params.checkpoint);
      const id = await store.newId();
      const checkpoint: Checkpoint = {
        ...imported,
        id,
        name: params.name ?? imported.name,
        // Someone else's image becomes the importer's: no user can plant one for another.
        uid: isRoot(peer) ? imported.uid : peer.uid,
      };

      // Checked here, so that a bad image is INVALID_IMAGE and not an error of the store.
      encodeImage(checkpoint);
      await withStoreRoom(peer, () => store.save(checkpoint));
      log.info('checkpoint imported', { checkpoint: id, from: imported.id, uid: peer.uid });
      return { id };
    },
  };
}

/**
 * Root may checkpoint anything; anyone else only processes they could ptrace, and with `tree`
 * every descendant too, checked before the engine touches (or kills) any of them.
 */
async function checkDumpAccess(
  peer: PeerCred,
  params: ParamsOf<'checkpoint.create'>,
): Promise<void> {
  // Freezing a cgroup stops every task in it, whoever owns them: root only.
  if (params.freezer && !isRoot(peer)) {
    throw new TtycrError('PERMISSION_DENIED', 'only root may freeze a cgroup (--freezer)');
  }
  for (const pid of params.pids) await checkMayDump(peer, pid);
  if (isRoot(peer) || !params.tree) return;

  for (const pid of params.pids) {
    for (const child of readTree(pid)) {
      // A child that exited meanwhile is not dumped either.
      await checkMayDump(peer, child).catch((err: unknown) => {
        if (!(err instanceof TtycrError && err.reason === 'NO_SUCH_PROCESS')) throw err;
      });
    }
  }
}

/** An exported image: either the whole image file or the bare checkpoint. */
function parseImported(raw: unknown): Checkpoint {
  if (raw !== null && typeof raw === 'object' && 'format' in raw) {
    const inner = (raw as { checkpoint?: { id?: unknown } }).checkpoint;
    try {
      return decodeImage(JSON.stringify(raw), String(inner?.id));
    } catch (err) {
      if (err instanceof TtycrError) throw new TtycrError('INVALID_IMAGE', err.message);
      throw err;
    }
  }

  const checked = CheckpointSchema.safeParse(raw);
  if (checked.success) return checked.data;
  throw new TtycrError('INVALID_IMAGE', `invalid image: ${firstIssue(checked.error)}`);
}
