// Who may approve: per playbook (or default) and severity, by user id, user group or anyone.
import { authorize, playbookOfStep, type Directory } from '../../approvals/approvers';

const approvers = {
  default: { S1: ['U0LEAD', 'sre-leads'], S2: ['*'] },
  'cost-s1': { S1: ['U0FINLEAD', 'S0FINOPS'] },
};
const directory: Directory = {
  membersOf: (group) =>
    Promise.resolve(({ 'sre-leads': ['U0ALICE'], S0FINOPS: ['U0BOB'] } as Record<string, string[]>)[group] ?? []),
};

test.each([
  ['a listed user', 'U0LEAD', { playbook: 'capacity-s1', severity: 'S1' }, true],
  ['a member of a listed group', 'U0ALICE', { playbook: 'capacity-s1', severity: 'S1' }, true],
  ['anyone, where * is listed', 'U0ANYONE', { playbook: 'cost-s2', severity: 'S2' }, true],
  ["the playbook's own list, not the default", 'U0LEAD', { playbook: 'cost-s1', severity: 'S1' }, false],
  ['a group given by id', 'U0BOB', { playbook: 'cost-s1', severity: 'S1' }, true],
  ['someone else', 'U0MALLORY', { playbook: 'capacity-s1', severity: 'S1' }, false],
] as const)('%s', async (_case, user, step, ok) => {
  expect((await authorize(user, step, approvers, directory)).ok).toBe(ok);
});

test('nothing configured means nobody, saying what to set; groups without Slack cannot be checked', async () => {
  expect(await authorize('U0LEAD', { playbook: 'storage-egress', severity: 'S3' }, approvers, directory)).toEqual({
    ok: false,
    reason: 'nobody may approve S3 steps of storage-egress: set approvals.approvers.storage-egress.S3 (or .default.S3)',
  });
  expect(await authorize('U0ALICE', { playbook: 'capacity-s1', severity: 'S1' }, approvers)).toEqual({
    ok: false,
    reason:
      'U0ALICE may not approve S1 steps of capacity-s1; approvers: U0LEAD, sre-leads (groups sre-leads cannot be checked without Slack)',
  });
});

test('an escalated step belongs to the playbook it escalated to', () => {
  expect(playbookOfStep('cost-s1/approve-throttle', 'cost-s2')).toBe('cost-s1');
  expect(playbookOfStep('approve-distilled', 'cost-s2')).toBe('cost-s2');
});
