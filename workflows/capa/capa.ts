// The CAPA workflow: one per run of a cost playbook, opened by the run (playbook-run/capa-opening.ts) and open until a
// closer closes it with every field filled. It posts itself where the run's people are, keeps that message current as
// it is filled, and reminds the owner (or, until there is one, the people it was posted to) every `remindEveryMs`
// while it is open, saying so once it is overdue. Who may fill or close is checked before an update reaches it
// (capa/capa-actions.ts); the workflow checks what any caller could get wrong: a closed CAPA, an empty field, a close
// with fields missing.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { TELLING_PEOPLE } from '../activity-options';
import { failureMessage } from '../failures';
import { keywordValue, SEARCH_ATTRIBUTES } from '../search-attributes';
import {
  capaRefusedSignal,
  capaRunEndedSignal,
  capaStatusQuery,
  capaTitle,
  closeCapaUpdate,
  fillCapaUpdate,
  fillProblem,
  isOverdue,
  missingForClose,
  type CapaClose,
  type CapaFill,
  type CapaMemo,
  type CapaOpening,
  type CapaStatus,
} from './definitions';

export interface CapaInput {
  opening: CapaOpening;
  /** Set when it continued as new: its state so far. */
  carried?: CapaStatus;
}

const tell = proxyActivities<Activities>(TELLING_PEOPLE);

const SYSTEM = 'finops-soar';

function freshStatus(opening: CapaOpening): CapaStatus {
  const now = new Date().toISOString();
  return {
    capaId: workflowInfo().workflowId,
    state: 'open',
    opening,
    openedAt: now,
    outcome: null,
    fields: {},
    history: [{ at: now, by: SYSTEM, what: `opened for run ${opening.run.workflowId}` }],
    closed: null,
    reminders: { sent: 0, nextAt: null },
    message: null,
  };
}

/** What the Temporal UI and the CAPA lists filter and show without asking the workflow. */
function publish(status: CapaStatus): void {
  const { run } = status.opening;
  const { owner, dueDate } = status.fields;
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.state, value: status.state },
    { key: SEARCH_ATTRIBUTES.playbook, value: keywordValue(run.playbook) },
    { key: SEARCH_ATTRIBUTES.severity, value: run.severity },
    { key: SEARCH_ATTRIBUTES.target, value: keywordValue(run.target) },
    ...(run.tenant ? [{ key: SEARCH_ATTRIBUTES.tenant, value: keywordValue(run.tenant) }] : []),
    ...(run.route ? [{ key: SEARCH_ATTRIBUTES.route, value: keywordValue(run.route) }] : []),
    { key: SEARCH_ATTRIBUTES.capaOwner, value: owner ? keywordValue(owner) : null },
    { key: SEARCH_ATTRIBUTES.capaDue, value: dueDate ? new Date(`${dueDate}T00:00:00Z`) : null },
  ]);
  const memo: CapaMemo = {
    title: capaTitle(status.opening),
    playbook: run.playbook,
    target: run.target,
    tenant: run.tenant,
    route: run.route,
    openedAt: status.openedAt,
    owner: owner ?? null,
    dueDate: dueDate ?? null,
  };
  upsertMemo({ capa: memo });
}

/** Telling people is not the record: a message that cannot be posted or updated is logged, and the CAPA goes on. */
async function told<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    log.warn(`could not ${what}; the CAPA goes on`, { error: failureMessage(error) });
    return undefined;
  }
}

export async function capa({ opening, carried }: CapaInput): Promise<CapaStatus> {
  const status: CapaStatus = carried ?? freshStatus(opening);
  // Read through a function: the handlers change it between awaits, which TypeScript's narrowing cannot see.
  const isOpen = () => status.state === 'open';
  // Something people see changed: the message and the search attributes follow.
  let changed = false;
  const record = (by: string, what: string) => {
    status.history.push({ at: new Date().toISOString(), by, what });
    changed = true;
  };

  setHandler(capaStatusQuery, () => status);
  setHandler(
    fillCapaUpdate,
    ({ by, fields, via }) => {
      const given = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      Object.assign(status.fields, given);
      record(by, `filled ${Object.keys(given).join(', ')} (${via})`);
      return status;
    },
    {
      validator: ({ fields }: CapaFill) => {
        if (status.state === 'closed') throw new Error(`CAPA ${status.capaId} is closed`);
        const problem = fillProblem(fields);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(
    closeCapaUpdate,
    ({ by, note, via }) => {
      const at = new Date().toISOString();
      status.state = 'closed';
      status.closed = { by, at, note: note ?? null };
      record(by, `closed${note ? `: ${note}` : ''} (${via})`);
      return status;
    },
    {
      validator: (_close: CapaClose) => {
        if (status.state === 'closed') throw new Error(`CAPA ${status.capaId} is already closed`);
        const missing = missingForClose(status.fields);
        if (missing.length > 0) throw new Error(`fill ${missing.join(', ')} before closing`);
      },
    },
  );
  setHandler(capaRunEndedSignal, (outcome) => {
    status.outcome = outcome;
    record(SYSTEM, `the run ended ${outcome.state}`);
  });
  setHandler(capaRefusedSignal, ({ by, what, refusal, at }) => {
    status.history.push({ at, by, what: `refused to ${what}: ${refusal}` });
  });

  publish(status);
  if (!carried) status.message = (await told('post the CAPA', () => tell['capa.post'](status))) ?? null;

  while (isOpen()) {
    const nextAt = status.reminders.nextAt
      ? Date.parse(status.reminders.nextAt)
      : Date.now() + status.opening.remindEveryMs;
    status.reminders.nextAt = new Date(nextAt).toISOString();
    const woken = await condition(() => changed, Math.max(1, nextAt - Date.now()));
    if (woken) {
      changed = false;
      // A close is published once, below.
      if (!isOpen()) break;
      publish(status);
      await told('update the CAPA message', () => tell['capa.update'](status));
    } else {
      const overdue = isOverdue(status.fields.dueDate, new Date());
      await told('remind the owner', () => tell['capa.remind']({ status, overdue }));
      status.reminders.sent++;
      status.reminders.nextAt = new Date(Date.now() + status.opening.remindEveryMs).toISOString();
    }
    if (isOpen() && workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof capa>({ opening, carried: status });
    }
  }
  status.reminders.nextAt = null;
  publish(status);
  await told('update the CAPA message', () => tell['capa.update'](status));
  await condition(allHandlersFinished);
  return status;
}
