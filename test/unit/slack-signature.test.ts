// Slack's v0 request signature: genuine requests pass; forged, expired, future-dated, replayed and malformed ones
// are refused with a reason.
import { verifySlackRequest, type SlackVerification } from '../../notify/slack/signature';
import {
  blockActionsPayload,
  interactivityFormBody,
  SLACK_SIGNING_SECRET,
  slackSignature,
} from '../helpers/slack-api-server';

const now = 1_700_000_000;
const body = interactivityFormBody(
  blockActionsPayload({
    user: 'U1',
    actionId: 'approve',
    value: '{"w":"run-1","s":"throttle"}',
    channel: 'C0FINOPS',
    messageTs: '1700000001.000100',
    responseUrl: 'http://127.0.0.1:1/actions/x',
  }),
);

const verify = (overrides: Partial<Parameters<typeof verifySlackRequest>[0]> = {}) =>
  verifySlackRequest({
    signingSecret: SLACK_SIGNING_SECRET,
    timestamp: String(now),
    signature: slackSignature(body, now),
    rawBody: body,
    nowSeconds: now,
    ...overrides,
  });

function refusal(result: SlackVerification): string {
  if (result.ok) throw new Error('expected the request to be refused');
  return result.reason;
}

test('a request signed with the signing secret passes, as text or as the raw bytes', () => {
  expect(verify()).toEqual({ ok: true });
  expect(verify({ rawBody: Buffer.from(body, 'utf8') })).toEqual({ ok: true });
});

test('a signature made with another secret is refused and points at slack.signingSecret', () => {
  expect(refusal(verify({ signature: slackSignature(body, now, 'someone-elses-secret-0123456789') }))).toMatch(
    /does not match the body.*slack\.signingSecret/,
  );
});

test('a body altered after signing is refused', () => {
  expect(verify({ rawBody: body.replace('approve', 'reject') })).toMatchObject({ ok: false });
});

test('the timestamp is part of what is signed: re-dating a signed body breaks the signature', () => {
  expect(refusal(verify({ timestamp: String(now + 1) }))).toMatch(/does not match/);
});

test('exactly 5 minutes old still passes; older is refused as a replay or a wrong clock', () => {
  const fiveMinutesAgo = now - 300;
  expect(verify({ timestamp: String(fiveMinutesAgo), signature: slackSignature(body, fiveMinutesAgo) })).toEqual({
    ok: true,
  });
  const older = now - 301;
  expect(verify({ timestamp: String(older), signature: slackSignature(body, older) })).toEqual({
    ok: false,
    reason: "the request was signed 301 s ago, more than 300 s: a replay, or this server's clock is wrong (check NTP)",
  });
});

test('a genuine request replayed an hour later is refused', () => {
  expect(refusal(verify({ nowSeconds: now + 3_600 }))).toMatch(/signed 3600 s ago/);
});

test('a timestamp more than 5 minutes in the future is refused', () => {
  const future = now + 301;
  expect(verify({ timestamp: String(future), signature: slackSignature(body, future) })).toEqual({
    ok: false,
    reason: "the request is dated 301 s in the future, more than 300 s: this server's clock is wrong (check NTP)",
  });
});

test.each([
  ['no timestamp', { timestamp: undefined }, /Timestamp is missing/],
  ['a repeated timestamp header', { timestamp: [String(now), String(now)] }, /Timestamp is missing or repeated/],
  ['a timestamp that is not a number', { timestamp: '17e8' }, /not a Unix time/],
  ['a negative timestamp', { timestamp: '-1' }, /not a Unix time/],
  ['no signature', { signature: undefined }, /Signature is missing/],
  [
    'a signature of another version',
    { signature: slackSignature(body, now).replace('v0=', 'v1=') },
    /not v0= followed by 64 hex/,
  ],
  ['a truncated signature', { signature: slackSignature(body, now).slice(0, 40) }, /not v0= followed by 64 hex/],
  ['an upper-case signature', { signature: slackSignature(body, now).toUpperCase() }, /not v0= followed by 64 hex/],
])('%s is refused as malformed', (_name, overrides, reason) => {
  expect(refusal(verify(overrides))).toMatch(reason);
});
