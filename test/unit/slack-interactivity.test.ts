// Reading an approval click from Slack's interactivity form: the button's run and step, who clicked, where.
import { approvalButtonValue, parseApprovalButtonValue } from '../../notify/slack/approval-button';
import { parseApprovalClick } from '../../notify/slack/interactivity';
import { blockActionsPayload, interactivityFormBody } from '../helpers/slack-api-server';

const value = approvalButtonValue({ workflowId: 'playbook/cost-s1/route:chat/tenant:acme', stepId: 'throttle' });
const click = (overrides: Partial<Parameters<typeof blockActionsPayload>[0]> = {}) =>
  blockActionsPayload({
    user: 'U0ALICE',
    actionId: 'approve',
    value,
    channel: 'C0FINOPS',
    messageTs: '1700000001.000100',
    responseUrl: 'https://hooks.slack.com/actions/T0/1/abc',
    ...overrides,
  });

test('the button value is compact JSON of the workflow and step, and reads back', () => {
  expect(value).toBe('{"w":"playbook/cost-s1/route:chat/tenant:acme","s":"throttle"}');
  expect(parseApprovalButtonValue(value)).toEqual({
    ok: true,
    target: { workflowId: 'playbook/cost-s1/route:chat/tenant:acme', stepId: 'throttle' },
  });
});

test("a button value over Slack's 2000 characters is refused when the message is built", () => {
  expect(() => approvalButtonValue({ workflowId: 'w'.repeat(2_000), stepId: 's' })).toThrow(
    /exceed Slack's 2000.*shorten/,
  );
});

test.each([
  ['not JSON', 'approve-run-1', /not JSON/],
  ['JSON of another shape', '{"workflowId":"run-1","stepId":"s"}', /not \{"w": workflowId, "s": stepId\}/],
  ['an empty step', '{"w":"run-1","s":""}', /not \{"w"/],
])('a button value that is %s is refused', (_name, raw, reason) => {
  const parsed = parseApprovalButtonValue(raw);
  expect(parsed.ok).toBe(false);
  expect(!parsed.ok && parsed.reason).toMatch(reason);
});

test('an approve click reads as who, what, which run and step, where, and the click time', () => {
  expect(parseApprovalClick(interactivityFormBody(click()))).toEqual({
    ok: true,
    click: {
      user: 'U0ALICE',
      action: 'approve',
      workflowId: 'playbook/cost-s1/route:chat/tenant:acme',
      stepId: 'throttle',
      messageTs: '1700000001.000100',
      channel: 'C0FINOPS',
      responseUrl: 'https://hooks.slack.com/actions/T0/1/abc',
      actionTs: '1700000100.123456',
    },
  });
});

test('a reject click reads as reject', () => {
  const parsed = parseApprovalClick(interactivityFormBody(click({ actionId: 'reject', user: 'U0BOB' })));
  expect(parsed).toMatchObject({ ok: true, click: { action: 'reject', user: 'U0BOB' } });
});

test.each([
  ['a form without payload', 'other=1', 'the form has no payload field'],
  ['a payload that is not JSON', 'payload=%7Bnot', 'the payload field is not JSON'],
  [
    'a view submission',
    interactivityFormBody({ type: 'view_submission', user: { id: 'U1' } }),
    'payload type "view_submission" is not handled (only block_actions: approval buttons)',
  ],
  [
    'a payload without a type',
    interactivityFormBody({ user: { id: 'U1' } }),
    'payload type undefined is not handled (only block_actions: approval buttons)',
  ],
  [
    'a click without a user',
    interactivityFormBody({ ...click(), user: undefined }),
    'block_actions payload: user: Invalid input: expected object, received undefined',
  ],
  [
    'a click without actions',
    interactivityFormBody({ ...click(), actions: [] }),
    'block_actions payload: actions: Too small: expected array to have >=1 items',
  ],
  [
    'a click whose response_url is not a URL',
    interactivityFormBody({ ...click(), response_url: 'nowhere' }),
    'block_actions payload: response_url: Invalid URL',
  ],
  [
    'another button',
    interactivityFormBody(click({ actionId: 'snooze' })),
    'action "snooze" is not an approval button (approve or reject)',
  ],
  [
    'an approval button with a foreign value',
    interactivityFormBody(click({ value: 'run-1' })),
    'button value is not JSON: "run-1"',
  ],
])('%s is refused with a reason', (_name, form, reason) => {
  expect(parseApprovalClick(form)).toEqual({ ok: false, reason });
});

test('a button without a value is refused', () => {
  const payload = click();
  const [action] = payload.actions;
  const form = interactivityFormBody({ ...payload, actions: [{ ...action, value: undefined }] });
  expect(parseApprovalClick(form)).toEqual({ ok: false, reason: 'the approve button carries no value' });
});
