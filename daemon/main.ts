#!/usr/bin/env -S node --max-semi-space-size=1
// ttycrd: reads its configuration, sets up logging, opens the store and the socket, serves
// until SIGTERM or SIGINT, then stops cleanly.
//
// The shebang keeps V8's young generation at 1 MiB a semi-space: a daemon that is idle most
// of the time should not hold the 16 MiB ones Node sizes for throughput (bench/rpc.ts
// measures its memory, idle and with 1000 pty pairs pending).

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { Command, Option } from 'commander';
import winston from 'winston';

import { type Config, ConfigError, loadConfig } from './config.js';
import { packageVersion } from '../client/version.js';
import { Daemon } from './daemon.js';
import { isJournalStream, syslogPrefix } from './journal.js';
import type { Logger } from './log.js';
import { Listener, type ListenerOptions } from './server/listener.js';
import { listenFds, notify, startWatchdog } from './server/systemd.js';
import { closeQuietly } from './sys/fd.js';
import * as engine from './tty/index.js';

const EXIT_USAGE = 2;
/** How long a stop waits for requests in flight before closing anyway. */
const DRAIN_MS = 10_000;

function parseFlags(argv: string[], version: string): Record<string, unknown> {
  const program = new Command('ttycrd')
    .description('Checkpoint and restore Linux terminals: the daemon')
    .version(version)
    .option('--socket <path>', 'unix socket to listen on')
    .option('--state-dir <dir>', 'where checkpoints are stored')
    .addOption(new Option('--log-level <level>').choices(['error', 'warn', 'info', 'debug']))
    .addOption(new Option('--log-format <format>').choices(['json', 'text']))
    .option('--group <group>', 'group (name or gid) that may use the socket')
    .option('--config <file>', 'JSON config file')
    .option('--restore-ttl <seconds>', 'seconds until unclaimed fds close')
    .option('--max-connections <n>', 'open connections at most')
    .option('--max-line-bytes <n>', 'longest request line')
    .option('--max-restores-per-uid <n>', 'pending restores one uid may hold')
    .option('--max-ptys-per-uid <n>', 'ptys the pending restores of one uid but root may hold')
    .option('--max-checkpoints-per-uid <n>', 'checkpoints one uid but root may keep')
    .option('--idle-timeout <seconds>', 'close idle connections after this long (0: never)')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE))
    .parse(argv);
  return program.opts();
}

/**
 * winston to stdout (stderr for warn and error), one line per event. Under systemd each line
 * starts with its syslog level (`<4>`) so the journal keeps it; text lines then leave the time
 * to the journal.
 */
function createLogger(config: Config): Logger {
  const journal = isJournalStream(1) || isJournalStream(2);
  const text = winston.format.printf(({ level, message, timestamp, ...fields }) => {
    const rest = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    const time = journal ? '' : `${String(timestamp)} `;
    return `${time}${level} ${String(message)}${rest ? ` ${rest}` : ''}`;
  });
  const leveled = winston.format((info) => {
    const line = Symbol.for('message') as unknown as string;
    info[line] = `${syslogPrefix(info.level)}${String(info[line])}`;
    return info;
  });
  return winston.createLogger({
    level: config.logLevel,
    format: winston.format.combine(
      winston.format.timestamp(),
      config.logFormat === 'json' ? winston.format.json() : text,
      ...(journal ? [leveled()] : []),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

/** A group name or number as a gid, from /etc/group. */
function groupId(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === group);
  if (!line) throw new ConfigError(`invalid configuration: group ${group} does not exist`);
  return Number(line.split(':')[2]);
}

async function main(): Promise<void> {
  const version = packageVersion();
  const flags = parseFlags(process.argv, version);

  let config: Config;
  let gid: number | undefined;
  try {
    config = loadConfig({ env: process.env, uid: process.getuid?.() ?? 0, flags });
    gid = config.group === null ? undefined : groupId(config.group);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    fatal(err.message);
    process.exit(EXIT_USAGE);
  }
  const log = createLogger(config);

  let listener: Listener | null = null;
  const daemon = await Daemon.open({
    config,
    version,
    engine,
    log,
    connections: () => listener?.connections.size ?? 0,
    store: testHooks(),
  });

  const tellSystemd = (state: string): void => {
    try {
      notify(state);
    } catch (err) {
      log.warn('sd_notify failed', { error: (err as Error).message });
    }
  };
  const status = async (): Promise<string> =>
    `STATUS=${await daemon.store.count()} checkpoints, ${daemon.restores.list().length} ` +
    `restores pending, ${listener?.connections.size ?? 0} connections`;
  // STATUS= after each request that changed the counts (and on a timer for expiries), so that
  // `systemctl status ttycrd` is current; never after STOPPING=1.
  let stopping = false;
  let shownStatus = '';
  const reportStatus = async (): Promise<void> => {
    const now = await status();
    if (stopping || now === shownStatus) return;
    shownStatus = now;
    tellSystemd(now);
  };

  const options: ListenerOptions = {
    mode: 0o660,
    ...(gid === undefined ? {} : { gid }),
    maxConnections: config.maxConnections,
    maxLineBytes: config.maxLineBytes,
    // No method takes fds from a client: with no room for them the kernel closes any sent
    // (MSG_CTRUNC, answered FDS_TRUNCATED), so a client cannot park fds in the daemon.
    maxFdsPerLine: 0,
    idleTimeoutMs: config.idleTimeout * 1000,
    goodbye: (reason) => daemon.goodbye(reason),
    onConnection: (conn) => {
      conn.onLine = (line) => daemon.serveLine(line, conn).finally(() => void reportStatus());
    },
    logger: log,
  };
  listener = openListener(config, options, log);
  log.info('serving', {
    socket: config.socket,
    stateDir: config.stateDir,
    pid: process.pid,
    version,
  });

  // READY=1 only now: the socket listens (or systemd's was adopted), so a client that
  // systemd lets through is served.
  shownStatus = await status();
  tellSystemd(`READY=1\n${shownStatus}`);
  const stopWatchdog = startWatchdog((err) =>
    log.warn('watchdog ping failed', { error: err.message }),
  );
  const statusTimer = setInterval(() => void reportStatus(), 10_000);
  statusTimer.unref();

  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal, inFlight: daemon.dispatcher.pending });
    tellSystemd(`STOPPING=1\nSTATUS=stopping, ${daemon.dispatcher.pending} requests in flight`);
    clearInterval(statusTimer);
    stopWatchdog();

    const drained = await Promise.race([
      daemon.stop().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS).unref()),
    ]);
    if (!drained)
      log.warn('requests still in flight at stop', { inFlight: daemon.dispatcher.pending });
    await listener?.close();
    daemon.restores.closeAll();
    log.info('stopped', {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** The socket systemd passed (socket activation), or a new one at config.socket. */
function openListener(config: Config, options: ListenerOptions, log: Logger): Listener {
  const passed = listenFds();
  if (passed.length > 0) {
    for (const extra of passed.slice(1)) closeQuietly(extra.fd);
    log.info('socket from systemd', { fd: passed[0]!.fd, name: passed[0]!.name });
    return Listener.adopt(passed[0]!.fd, options);
  }

  const root = process.getuid?.() === 0;
  mkdirSync(dirname(config.socket), { recursive: true, mode: root ? 0o755 : 0o700 });
  return Listener.listen(config.socket, options);
}

/** TTYCRD_TEST_STALL_COMMIT=1 (tests only): a checkpoint write stops before its rename. */
function testHooks() {
  if (process.env.TTYCRD_TEST_STALL_COMMIT !== '1') return {};
  return { beforeRename: () => new Promise<void>(() => {}) };
}

/** A startup error, before or instead of the logger: with `<3>` when stderr is the journal. */
function fatal(message: string): void {
  const prefix = isJournalStream(2) ? syslogPrefix('error') : '';
  process.stderr.write(`${prefix}ttycrd: ${message}\n`);
}

main().catch((err: unknown) => {
  fatal(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
