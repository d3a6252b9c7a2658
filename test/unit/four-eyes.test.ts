// The rules every approval decision is held to (approvals/four-eyes.ts), whatever sends it: only the
// pending step, once; the starter of a manual run may not approve it; nobody approves twice; and
// how a finished wait ends. The workflow's decide handler calls exactly these functions.
import { approvalOutcome, refusalOf, type DecisionContext } from '../../approvals/four-eyes';

const waiting = (overrides: Partial<DecisionContext> = {}): DecisionContext => ({
  pending: { stepId: 'approve-throttle', approvalsNeeded: 2, approvedBy: [] },
  decided: [],
  rejected: false,
  startedBy: undefined,
  ...overrides,
});
const approve = (by: string, stepId = 'approve-throttle') => ({ stepId, approve: true, by });
const reject = (by: string, stepId = 'approve-throttle') => ({ stepId, approve: false, by });

describe('which decisions a run takes', () => {
  test('an approval or a rejection of the pending step is taken', () => {
    expect(refusalOf(approve('U0ALICE'), waiting())).toBeUndefined();
    expect(refusalOf(reject('U0ALICE'), waiting())).toBeUndefined();
  });

  test('another step than the pending one is refused, saying whether it was decided already', () => {
    const context = waiting({ decided: [{ stepId: 'approve-distilled' }] });
    expect(refusalOf(approve('U0ALICE', 'approve-distilled'), context)).toBe(
      'step approve-distilled was already decided',
    );
    expect(refusalOf(approve('U0ALICE', 'approve-scale'), context)).toBe(
      'step approve-scale is not waiting for approval',
    );
  });

  test('nothing pending: every decision is refused', () => {
    expect(refusalOf(approve('U0ALICE'), waiting({ pending: null }))).toBe(
      'step approve-throttle is not waiting for approval',
    );
  });

  test('after a rejection, or once enough people approved, the step is decided', () => {
    const decided = [{ stepId: 'approve-throttle' }];
    expect(refusalOf(approve('U0BOB'), waiting({ rejected: true, decided }))).toBe(
      'step approve-throttle was already decided',
    );
    const approved = waiting({
      pending: { stepId: 'approve-throttle', approvalsNeeded: 2, approvedBy: ['U0A', 'U0B'] },
      decided,
    });
    expect(refusalOf(reject('U0C'), approved)).toBe('step approve-throttle was already decided');
  });

  test('whoever started the run by hand may reject it but not approve it', () => {
    const context = waiting({ startedBy: 'U0ALICE' });
    expect(refusalOf(approve('U0ALICE'), context)).toBe(
      'U0ALICE started this run and cannot approve its steps; ask someone else',
    );
    expect(refusalOf(reject('U0ALICE'), context)).toBeUndefined();
  });

  test('four eyes: the same person cannot approve twice, a second person can', () => {
    const context = waiting({ pending: { stepId: 'approve-throttle', approvalsNeeded: 2, approvedBy: ['U0ALICE'] } });
    expect(refusalOf(approve('U0ALICE'), context)).toBe(
      'U0ALICE already approved step approve-throttle; it needs 2 different people',
    );
    expect(refusalOf(approve('U0BOB'), context)).toBeUndefined();
    // A second thought is still heard: the first approver may reject.
    expect(refusalOf(reject('U0ALICE'), context)).toBeUndefined();
  });
});

describe('how a wait for approval ends', () => {
  const ended = { rejected: false, approvals: 0, approvalsNeeded: 2, firing: true, onTimeout: 'reject' as const };

  test.each([
    ['a rejection wins over approvals', { rejected: true, approvals: 2 }, 'rejected'],
    ['enough approvals', { approvals: 2 }, 'approved'],
    ['one of two approvals, then the alert resolved', { approvals: 1, firing: false }, 'moot: the alert resolved'],
    ['one of two approvals at the timeout', { approvals: 1 }, 'timed out: rejected'],
    ['no decision, declared to approve on timeout', { onTimeout: 'approve' as const }, 'timed out: approved'],
  ])('%s', (_case, overrides, outcome) => {
    expect(approvalOutcome({ ...ended, ...overrides })).toBe(outcome);
  });
});
