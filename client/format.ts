// What the CLI prints for people: tables for checkpoints, images and restores, and plain
// key-value lines for the daemon's status. No colours, so that output reads the same in a pipe.

import Table from 'cli-table3';

import type { Checkpoint } from '../rpc-schema/image.js';
import type { Result, TtySummary } from '../rpc-schema/methods.js';

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatStatus(s: Result<'daemon.status'>): string {
  const rows: [string, string | number][] = [
    ['version', s.version],
    ['pid', s.pid],
    ['uptime', `${Math.round(s.uptimeSeconds)} s`],
    ['socket', s.socket],
    ['state dir', s.stateDir],
    ['checkpoints', s.checkpoints],
    ['restores', `${s.restores} pending, ${s.pendingFds} fds held`],
    ['connections', `${s.connections} of ${s.limits.maxConnections}`],
    ['restore ttl', `${s.limits.restoreTtlSeconds} s`],
    [
      'per uid',
      `${s.limits.maxRestoresPerUid} restores, ${s.limits.maxPtysPerUid} ptys, ` +
        `${s.limits.maxCheckpointsPerUid} checkpoints (root: only the restores)`,
    ],
  ];
  return rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n');
}

export function formatTtys(ttys: TtySummary[]): string {
  const t = table(['tty', 'kind', 'index', 'path', 'size', 'modes']);
  for (const tty of ttys) {
    t.push([tty.id, tty.kind, tty.index, tty.path, tty.size, tty.modes.join(' ') || '-']);
  }
  return t.toString();
}

export function formatCheckpointList(r: Result<'checkpoint.list'>): string {
  if (r.checkpoints.length === 0) return 'no checkpoints';
  const t = table(['id', 'name', 'created', 'pids', 'ttys', 'files']);
  for (const c of r.checkpoints) {
    t.push([c.id, c.name ?? '-', when(c.createdAt), c.pids.join(' '), c.ttys, c.files]);
  }
  return t.toString();
}

export function formatCheckpointCreated(r: Result<'checkpoint.create'>): string {
  return `${r.id}\n${formatTtys(r.ttys)}`;
}

/** `ttycr show`: the checkpoint's header, then its ttys, open files and tasks. */
export function formatCheckpoint(r: Result<'checkpoint.get'>): string {
  const c = r.checkpoint;
  const options = Object.entries(c.options)
    .filter(([, on]) => on)
    .map(([name]) => name);
  const header = [
    `checkpoint ${c.id}${c.name ? ` (${c.name})` : ''}`,
    `created    ${when(c.createdAt)} by uid ${c.uid} on ${c.host}, kernel ${c.kernel}`,
    `options    ${options.join(' ') || '-'}`,
  ].join('\n');

  const head = ['tty', 'kind', 'index', 'path', 'size', 'modes', 'termios', 'session', 'fg'];
  const ttys = table(head);
  for (const tty of r.ttys) {
    const image = c.ttys[tty.id];
    ttys.push([
      tty.id,
      tty.kind,
      tty.index,
      tty.path,
      tty.size,
      tty.modes.join(' ') || '-',
      image ? termiosWords(image) : '-',
      image?.session ?? '-',
      image?.foreground ?? '-',
    ]);
  }

  return [header, 'ttys', ttys.toString(), 'files', formatFiles(c), 'tasks', formatTasks(c)].join(
    '\n',
  );
}

// asm-generic/termbits.h
const ISIG = 0o1;
const ICANON = 0o2;
const ECHO = 0o10;
const OPOST = 0o1;
const ICRNL = 0o400;
const VTIME = 5;
const VMIN = 6;

/** The termios settings people change most, as stty spells them: `-icanon -echo min 3 time 7`. */
function termiosWords(tty: Checkpoint['ttys'][number]): string {
  const t = tty.termios;
  if (!t) return '-';
  const flag = (on: number, name: string) => (on ? name : `-${name}`);
  const words = [
    flag(t.lflag & ICANON, 'icanon'),
    flag(t.lflag & ECHO, 'echo'),
    flag(t.lflag & ISIG, 'isig'),
    flag(t.iflag & ICRNL, 'icrnl'),
    flag(t.oflag & OPOST, 'opost'),
  ];
  if (!(t.lflag & ICANON)) words.push(`min ${t.cc[VMIN]} time ${t.cc[VTIME]}`);
  if (t.ospeed) words.push(`${t.ospeed} baud`);
  return words.join(' ');
}

function formatFiles(c: Checkpoint): string {
  const t = table(['file', 'tty', 'end', 'flags', 'pos', 'owner']);
  for (const f of c.files) {
    const owner = f.owner.pid === 0 ? '-' : `${ownerTypes[f.owner.type] ?? '?'} ${f.owner.pid}`;
    t.push([f.id, f.tty, f.end, openFlags(f.flags), f.pos, owner]);
  }
  return t.toString();
}

function formatTasks(c: Checkpoint): string {
  const t = table(['pid', 'comm', 'session', 'pgrp', 'ctty', 'fds (fd:file tty end)']);
  for (const task of c.tasks) {
    const fds = task.fds.map((fd) => {
      const file = c.files[fd.file];
      return `${fd.fd}:${fd.file} tty ${file?.tty ?? '?'} ${file?.end ?? '?'}`;
    });
    const ctty = task.ctty === null ? '-' : `tty ${task.ctty}`;
    t.push([task.pid, task.comm, task.sid, task.pgid, ctty, fds.join('\n') || '-']);
  }
  return t.toString();
}

const ownerTypes: Record<number, string> = { 0: 'tid', 1: 'pid', 2: 'pgrp' };

// asm-generic/fcntl.h
const flagNames: [number, string][] = [
  [0o2000, 'append'],
  [0o4000, 'nonblock'],
  [0o20000, 'async'],
  [0o400, 'noctty'],
];

function openFlags(flags: number): string {
  const mode = ['rdonly', 'wronly', 'rdwr', '?'][flags & 3]!;
  return [mode, ...flagNames.filter(([bit]) => flags & bit).map(([, name]) => name)].join(' ');
}

/** `ttycr restore`: the restore id, each tty's old and new index, each task's waiting fds. */
export function formatRestore(r: Result<'restore.start'>): string {
  const ttys = table(['tty', 'kind', 'old index', 'new index', 'path', 'console']);
  for (const tty of r.ttys) {
    ttys.push([tty.id, tty.kind, tty.oldIndex, tty.newIndex, tty.path, tty.console ? 'yes' : '-']);
  }

  const tasks = table(['task', 'fds waiting (fd: tty end)', 'ctty', 'claimed']);
  for (const task of r.tasks) {
    const fds = task.fds.map((fd) => `${fd.fd < 0 ? '-' : fd.fd}: tty ${fd.tty} ${fd.end}`);
    const name = task.pid === 0 ? '0 (console)' : String(task.pid);
    tasks.push([
      name,
      fds.join('\n') || '-',
      task.ctty === null ? '-' : `tty ${task.ctty}`,
      task.claimed ? 'yes' : 'no',
    ]);
  }

  return [r.id, ttys.toString(), tasks.toString(), `expires ${when(r.expiresAt)}`].join('\n');
}

export function formatRestoreList(r: Result<'restore.list'>): string {
  if (r.restores.length === 0) return 'no restores pending';
  const t = table(['id', 'checkpoint', 'ttys', 'tasks waiting', 'expires']);
  for (const entry of r.restores) {
    const waiting = entry.tasks.filter((task) => !task.claimed).map((task) => task.pid);
    t.push([
      entry.id,
      entry.checkpoint,
      entry.ttys.length,
      waiting.join(' '),
      when(entry.expiresAt),
    ]);
  }
  return t.toString();
}
