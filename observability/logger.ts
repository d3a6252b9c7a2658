// Structured JSON logs (pino). Secrets are redacted wherever they appear under these keys, as a
// safety net: code should not log them in the first place.
import pino, { type Logger } from 'pino';

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
];

export function createLogger(name: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}
