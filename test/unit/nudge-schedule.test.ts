// When a waiting approval reminds and escalates (approvals/nudge-schedule.ts): in the order they
// are due, never at or after the timeout, whose outcome comes first.
import { nudgeSchedule } from '../../approvals/nudge-schedule';

const escalate = { afterMs: 600_000, mention: ['sre-oncall'], alsoTo: ['incidents'] };

test('a reminder, then an escalation that mentions groups and posts elsewhere', () => {
  expect(nudgeSchedule({ remindAfterMs: 300_000, escalate, timeoutMs: 900_000 })).toEqual([
    { afterMs: 300_000, nudge: { kind: 'reminder', mention: [], alsoTo: [] } },
    { afterMs: 600_000, nudge: { kind: 'escalation', mention: ['sre-oncall'], alsoTo: ['incidents'] } },
  ]);
});

test('an escalation due before the reminder comes first', () => {
  const schedule = nudgeSchedule({ remindAfterMs: 700_000, escalate, timeoutMs: 900_000 });
  expect(schedule.map(({ afterMs, nudge }) => [afterMs, nudge.kind])).toEqual([
    [600_000, 'escalation'],
    [700_000, 'reminder'],
  ]);
});

test('nudges due at or after the timeout are not sent', () => {
  expect(nudgeSchedule({ remindAfterMs: 900_000, escalate, timeoutMs: 900_000 })).toEqual([
    { afterMs: 600_000, nudge: { kind: 'escalation', mention: ['sre-oncall'], alsoTo: ['incidents'] } },
  ]);
  expect(nudgeSchedule({ remindAfterMs: 120_000, escalate: null, timeoutMs: 60_000 })).toEqual([]);
});
