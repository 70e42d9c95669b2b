// The checkpoint image file: the checkpoint wrapped with its format, version and a checksum,
// encoded for writing and decoded (and checked) on reading.

import { createHash } from 'node:crypto';

import { TtycrError } from '../../rpc-schema/errors.js';
import {
  type Checkpoint,
  CheckpointSchema,
  IMAGE_FORMAT,
  IMAGE_VERSION,
  ImageFileSchema,
} from '../../rpc-schema/image.js';

/**
 * The largest image file the store writes, and so the largest it reads (the default of
 * StoreOptions.maxImageBytes): a bigger file was not written by ttycrd, and reading it whole
 * would cost the daemon that much memory, and more again as text and parsed. 128 MiB is twice
 * the longest request line --max-line-bytes allows (64 MiB), so an image checkpoint.import takes
 * fits even where re-encoding makes it larger (a new id and name, invalid UTF-8 replaced); and it
 * holds thousands of ptys with their queued data (a few KiB each as base64).
 */
export const MAX_IMAGE_BYTES = 128 << 20;

function checksumOf(checkpointJson: string): string {
  return `sha256:${createHash('sha256').update(checkpointJson).digest('hex')}`;
}

/**
 * The bytes of an image file. The checkpoint is validated first: the store never writes an image
 * it could not read back.
 */
export function encodeImage(checkpoint: Checkpoint): Buffer {
  const checked = CheckpointSchema.safeParse(checkpoint);
  if (!checked.success) {
    throw new TtycrError('INVALID_IMAGE', `invalid checkpoint: ${firstIssue(checked.error)}`);
  }

  const json = JSON.stringify(checked.data);
  const head = `{"format":"${IMAGE_FORMAT}","version":${IMAGE_VERSION},`;
  return Buffer.from(`${head}"checksum":"${checksumOf(json)}","checkpoint":${json}}\n`);
}

/**
 * The checkpoint in an image file's text. Every way the file can be wrong (not JSON, truncated,
 * another format, a newer version, a checksum that does not match, a checkpoint the schema
 * refuses) is an IMAGE_CORRUPT error saying which, and naming `path` when it came from a file.
 * No message quotes the text: it may hold a terminal's queued data, or whatever was planted.
 */
export function decodeImage(text: string, id: string, path?: string): Checkpoint {
  const where = path === undefined ? '' : `${path}: `;
  const corrupt = (why: string): TtycrError =>
    new TtycrError('IMAGE_CORRUPT', `checkpoint ${id}: ${where}${why}`, { id });

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corrupt(notJson(err as Error, text.length));
  }

  const envelope = ImageFileSchema.safeParse(raw);
  if (!envelope.success) throw corrupt(`not an image file: ${firstIssue(envelope.error)}`);
  const file = envelope.data;
  if (file.version > IMAGE_VERSION) {
    throw corrupt(`format version ${file.version} is newer than ${IMAGE_VERSION}`);
  }
  if (file.version < 1) throw corrupt(`unknown format version ${file.version}`);

  // The checksum covers the checkpoint as JSON.stringify writes it, which re-encoding a parsed
  // value reproduces exactly.
  if (checksumOf(JSON.stringify(file.checkpoint)) !== file.checksum) {
    throw corrupt('checksum mismatch');
  }

  const checkpoint = CheckpointSchema.safeParse(file.checkpoint);
  if (!checkpoint.success) throw corrupt(`invalid checkpoint: ${firstIssue(checkpoint.error)}`);
  if (checkpoint.data.id !== id) throw corrupt(`holds checkpoint ${checkpoint.data.id}`);
  return checkpoint.data;
}

/**
 * What JSON.parse found wrong, without its message: V8 quotes the text around the error there.
 * Where it broke is kept, when V8 says; most often a file cut short, hence the question.
 */
function notJson(err: Error, length: number): string {
  if (err.message.includes('Unexpected end of JSON input')) {
    return `not JSON (truncated?): ends at character ${length}`;
  }
  const at = /at position (\d+)/.exec(err.message)?.[1];
  return `not JSON (truncated?): syntax error${at === undefined ? '' : ` at character ${at}`}`;
}

/** The first zod issue as `path: message`, short enough for one log line. */
export function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
