import { isAuthorized } from '../../ingress/credentials';

const token = 'a-long-enough-bearer-token';
const basicAuth = { username: 'alertmanager', password: 'a-long-enough-password' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test.each([
  ['the bearer token', `Bearer ${token}`, { token }, true],
  ['the bearer token, scheme in lower case', `bearer ${token}`, { token }, true],
  ['a wrong bearer token', 'Bearer a-long-enough-bearer-tokem', { token }, false],
  ['a prefix of the token', `Bearer ${token.slice(0, -1)}`, { token }, false],
  ['an empty bearer value', 'Bearer ', { token }, false],
  ['the token followed by more text', `Bearer ${token} extra`, { token }, false],
  ['no header', undefined, { token }, false],
  ['another scheme', `Token ${token}`, { token }, false],
  ['the basic pair', basic('alertmanager', 'a-long-enough-password'), { basicAuth }, true],
  ['a wrong basic password', basic('alertmanager', 'wrong'), { basicAuth }, false],
  ['a wrong basic user', basic('prometheus', 'a-long-enough-password'), { basicAuth }, false],
  ['basic when only a token is configured', basic('alertmanager', token), { token }, false],
  ['bearer when only basic is configured', `Bearer ${token}`, { basicAuth }, false],
])('%s → %s', (_case, header, credentials, expected) => {
  expect(isAuthorized(header, credentials)).toBe(expected);
});
