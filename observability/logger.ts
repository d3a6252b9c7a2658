// Structured logs (pino): JSON for machines, and one readable line per event in a terminal (pino-pretty), chosen by
// log.format (auto: pretty when standard output is a terminal). Secrets are redacted wherever they appear under these
// keys, in both, as a safety net: code should not log them in the first place.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

const REDACTED_KEYS = [
  'token',
  'opaToken',
  'apiKey',
  'password',
  'authorization',
  'Authorization',
  'signingSecret',
  'secret',
];

const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((key) => `*.${key}`),
  ...REDACTED_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'headers.authorization',
  'config.headers.Authorization',
  'config.headers["Kong-Admin-Token"]',
  'headers["kong-admin-token"]',
];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether lines go out for people: `auto` asks whether standard output is a terminal. */
export const isPretty = (format: LogFormat, terminal = process.stdout.isTTY === true) =>
  format === 'pretty' || (format === 'auto' && terminal);

/** One line per event: time, level, the process, the message, then the event's fields (secrets already redacted). */
export function prettyStream(destination?: pino.DestinationStream) {
  return pretty({
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    ...(destination && { destination }),
  });
}

export function createLogger(
  name: string,
  level = 'info',
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (isPretty(format)) return pino(options, prettyStream(destination));
  return pino(options, destination);
}
