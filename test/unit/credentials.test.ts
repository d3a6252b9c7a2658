// The Authorization header checks of the webhook ingress (ingress/credentials.ts): which bearer
// tokens and basic-auth pairs isAuthorized accepts for each way of configuring credentials, and
// safeEqual, the constant-time comparison under both.
import type { Credentials } from '../../ingress/credentials';
import { isAuthorized, safeEqual } from '../../ingress/credentials';

const TOKEN = 'a-long-enough-bearer-token-0123';
const USER = 'alertmanager';
const PASSWORD = 'a-long-enough-password:with-colon';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

const tokenOnly: Credentials = { token: TOKEN };
const basicOnly: Credentials = { basicAuth: { username: USER, password: PASSWORD } };
const both: Credentials = { token: TOKEN, basicAuth: { username: USER, password: PASSWORD } };
const none: Credentials = {};

describe('bearer tokens', () => {
  test.each([
    ['the token', `Bearer ${TOKEN}`, true],
    ['a lower-case scheme', `bearer ${TOKEN}`, true],
    ['an upper-case scheme', `BEARER ${TOKEN}`, true],
    ['surrounding whitespace', `  Bearer   ${TOKEN}  `, true],
    ['a tab between scheme and token', `Bearer\t${TOKEN}`, true],
    ['a wrong token', 'Bearer a-long-enough-bearer-token-0124', false],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, false],
    ['the token with extra characters', `Bearer ${TOKEN}x`, false],
    ['the token followed by more text', `Bearer ${TOKEN} extra`, false],
    ['the token in another case', `Bearer ${TOKEN.toUpperCase()}`, false],
    ['no token after the scheme', 'Bearer', false],
    ['an empty token', 'Bearer ', false],
    ['the token without a scheme', TOKEN, false],
    ['the token under another scheme', `Token ${TOKEN}`, false],
    ['a Digest scheme', `Digest ${TOKEN}`, false],
  ])('%s', (_case, header, expected) => {
    expect(isAuthorized(header, tokenOnly)).toBe(expected);
  });

  test('a bearer header when only basic auth is configured is refused', () => {
    expect(isAuthorized(`Bearer ${TOKEN}`, basicOnly)).toBe(false);
    expect(isAuthorized('Bearer ', basicOnly)).toBe(false);
  });
});

describe('basic auth', () => {
  test.each([
    ['the pair', basic(USER, PASSWORD), true],
    ['a lower-case scheme', basic(USER, PASSWORD).replace('Basic', 'basic'), true],
    ['a wrong password', basic(USER, 'wrong-password-0123456'), false],
    ['a wrong user', basic('prometheus', PASSWORD), false],
    ['the user in another case', basic(USER.toUpperCase(), PASSWORD), false],
    ['a password prefix', basic(USER, PASSWORD.slice(0, -1)), false],
    ['user and password swapped', basic(PASSWORD, USER), false],
    ['the pair split at the password colon', basic(`${USER}:a-long-enough-password`, 'with-colon'), true],
    ['the pair not base64-encoded', `Basic ${USER}:${PASSWORD}`, false],
    ['only the user', `Basic ${Buffer.from(USER).toString('base64')}`, false],
    ['nothing after the scheme', 'Basic', false],
    ['empty credentials', `Basic ${Buffer.from(':').toString('base64')}`, false],
  ])('%s', (_case, header, expected) => {
    expect(isAuthorized(header, basicOnly)).toBe(expected);
  });

  test('a non-ASCII password works in UTF-8', () => {
    const credentials: Credentials = { basicAuth: { username: 'am', password: 'pässwörd-éèê-0123' } };
    expect(isAuthorized(basic('am', 'pässwörd-éèê-0123'), credentials)).toBe(true);
    expect(isAuthorized(basic('am', 'passwort-eee-0123'), credentials)).toBe(false);
  });

  test('basic auth when only a token is configured is refused, even carrying the token', () => {
    expect(isAuthorized(basic(USER, TOKEN), tokenOnly)).toBe(false);
    expect(isAuthorized(`Basic ${Buffer.from(TOKEN).toString('base64')}`, tokenOnly)).toBe(false);
  });
});

describe('either method when both are configured', () => {
  test('the token and the pair are both accepted; mixing them up is not', () => {
    expect(isAuthorized(`Bearer ${TOKEN}`, both)).toBe(true);
    expect(isAuthorized(basic(USER, PASSWORD), both)).toBe(true);
    expect(isAuthorized(`Bearer ${PASSWORD}`, both)).toBe(false);
    expect(isAuthorized(basic(USER, TOKEN), both)).toBe(false);
  });
});

describe('missing or empty headers', () => {
  test.each([
    ['undefined', undefined],
    ['empty', ''],
    ['whitespace only', '   '],
  ])('a header that is %s is refused', (_case, header) => {
    expect(isAuthorized(header, tokenOnly)).toBe(false);
    expect(isAuthorized(header, basicOnly)).toBe(false);
    expect(isAuthorized(header, both)).toBe(false);
  });

  test('with no credentials configured nothing is authorized', () => {
    expect(isAuthorized(`Bearer ${TOKEN}`, none)).toBe(false);
    expect(isAuthorized(basic(USER, PASSWORD), none)).toBe(false);
    expect(isAuthorized('Bearer ', none)).toBe(false);
    expect(isAuthorized(undefined, none)).toBe(false);
  });

  test('explicitly undefined credentials are the same as none', () => {
    expect(isAuthorized(`Bearer ${TOKEN}`, { token: undefined, basicAuth: undefined })).toBe(false);
  });
});

describe('safeEqual', () => {
  test('equal strings only, whatever their lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('é', 'e\u0301')).toBe(false);
  });
});
