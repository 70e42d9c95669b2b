// The checkpoint store: what the rest of the daemon imports from daemon/store.

export { CheckpointStore, type StoredCheckpoint, type StoreOptions } from './store.js';
export { decodeImage, encodeImage } from './image.js';
export { newCheckpointId, newRestoreId } from './ids.js';
