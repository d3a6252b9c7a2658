// The CAPA's pure rules: what a fill may hold, when it is overdue, what a close still needs, and the visibility
// queries that find CAPAs.
import fc from 'fast-check';
import { capaQuery } from '../../capa/capa-query';
import { CAPA_FIELDS, dueDateProblem, fillProblem, isOverdue, missingForClose } from '../../workflows/capa/definitions';

test('a due date is a day of the calendar, written YYYY-MM-DD', () => {
  expect(dueDateProblem('2026-12-21')).toBeNull();
  expect(dueDateProblem('2028-02-29')).toBeNull();
  expect(dueDateProblem('2026-02-29')).toBe('dueDate 2026-02-29 is not a day of the calendar');
  expect(dueDateProblem('21/12/2026')).toMatch(/write it as YYYY-MM-DD/);
  fc.assert(
    fc.property(fc.date({ min: new Date('1970-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }), (date) =>
      expect(dueDateProblem(date.toISOString().slice(0, 10))).toBeNull(),
    ),
  );
});

test('a fill names at least one known field, none empty, an owner that is a user id', () => {
  expect(fillProblem({})).toMatch(/^nothing to fill/);
  expect(fillProblem({ rootCause: '  ' })).toBe('rootCause is empty');
  expect(fillProblem({ owner: 'alice smith' })).toMatch(/is not a user id/);
  expect(fillProblem({ cause: 'x' } as never)).toMatch(/^cause is not a CAPA field/);
  expect(fillProblem({ rootCause: 'x'.repeat(4_001) })).toMatch(/longer than 4000/);
  expect(fillProblem({ owner: 'U0ALICE', dueDate: '2026-12-21', rootCause: 'a template' })).toBeNull();
});

test('overdue once the whole due day has passed (UTC), never without a due date', () => {
  expect(isOverdue('2026-12-07', new Date('2026-12-07T23:59:59.999Z'))).toBe(false);
  expect(isOverdue('2026-12-07', new Date('2026-12-08T00:00:00.000Z'))).toBe(true);
  expect(isOverdue(null, new Date('2999-01-01'))).toBe(false);
  expect(isOverdue('not a day', new Date('2999-01-01'))).toBe(false);
});

test('a close needs every field, named in order', () => {
  expect(missingForClose({})).toEqual([...CAPA_FIELDS]);
  expect(missingForClose({ rootCause: 'x', owner: 'U0A' })).toEqual([
    'correctiveAction',
    'preventiveAction',
    'dueDate',
  ]);
});

test('the visibility queries: open by default, an owner quoted, overdue as due before yesterday', () => {
  const now = new Date('2026-12-07T10:00:00.000Z');
  expect(capaQuery({}, now)).toBe("WorkflowType = 'capa' AND FinopsState = 'open'");
  expect(capaQuery({ state: 'all', owner: "o'brien" }, now)).toBe(
    "WorkflowType = 'capa' AND FinopsCapaOwner = 'o''brien'",
  );
  expect(capaQuery({ overdue: true }, now)).toBe(
    "WorkflowType = 'capa' AND FinopsState = 'open' AND FinopsCapaDue < '2026-12-06T10:00:00.000Z'",
  );
});
