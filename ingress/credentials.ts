// HTTP credential checks in constant time: comparing digests keeps the comparison's duration
// independent of where a guess first differs, and of the secret's length.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export interface Credentials {
  token?: string | undefined;
  basicAuth?: { username: string; password: string } | undefined;
}

/** True when the Authorization header carries the configured bearer token or basic-auth pair. */
export function isAuthorized(header: string | undefined, credentials: Credentials): boolean {
  if (!header) return false;
  const parts = header.trim().split(/\s+/);
  if (parts.length !== 2) return false;
  const [scheme, value = ''] = parts;
  switch (scheme?.toLowerCase()) {
    case 'bearer':
      return credentials.token !== undefined && safeEqual(value, credentials.token);
    case 'basic': {
      if (!credentials.basicAuth) return false;
      const { username, password } = credentials.basicAuth;
      return safeEqual(Buffer.from(value, 'base64').toString('utf8'), `${username}:${password}`);
    }
    default:
      return false;
  }
}
