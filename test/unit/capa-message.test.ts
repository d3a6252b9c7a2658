// The CAPA's Slack message and modal, pure: alert text never mentions or links anyone, a closed CAPA has no buttons,
// the reminder says what is missing and when it was due, and the modal holds what is filled.
import type { CapaNotice } from '../../notify/notifier';
import { capaMessage, capaModal, capaReminderText } from '../../notify/slack/capa-message';
import type { CapaStatus } from '../../workflows/capa/definitions';

const status = (overrides: Partial<CapaStatus> = {}): CapaStatus => ({
  capaId: 'capa/playbook/cost-s2/route=chat,tenant=acme/0c6a',
  state: 'open',
  opening: {
    run: {
      workflowId: 'playbook/cost-s2/route=chat,tenant=acme',
      firstRunId: '0c6a',
      playbook: 'cost-s2',
      severity: 'S2',
      target: 'route=chat,tenant=acme',
      tenant: 'acme',
      route: 'chat',
      startedAt: '2026-12-07T10:00:00.000Z',
    },
    alert: {
      name: 'LLMSpendBurnRateHigh',
      summary: 'acme spends 6.2x its 14-day average on chat <!channel> <https://evil.example|click>',
      startsAt: '2026-12-07T09:58:00.000Z',
      generatorURL: null,
    },
    notifyTo: ['finops'],
    remindEveryMs: 86_400_000,
  },
  openedAt: '2026-12-07T10:00:01.000Z',
  outcome: null,
  fields: {},
  history: [],
  closed: null,
  reminders: { sent: 0, nextAt: null },
  message: null,
  ...overrides,
});
const notice = (capa: CapaStatus): CapaNotice => ({
  status: capa,
  links: { capa: 'http://temporal.test/capa', run: 'http://temporal.test/run' },
});

test('alert text is escaped: no mention, no link of its own', () => {
  const { text, blocks } = capaMessage(notice(status()));
  const rendered = JSON.stringify(blocks);
  expect(rendered).toContain('&lt;!channel&gt;');
  expect(rendered).not.toContain('<!channel>');
  expect(rendered).not.toContain('<https://evil.example');
  expect(text).toBe('CAPA opened: LLMSpendBurnRateHigh on route=chat,tenant=acme (cost-s2)');
});

test('what the engine did, once the run ended: its changes, cost before and after, what it saved', () => {
  const { blocks } = capaMessage(
    notice(
      status({
        outcome: {
          state: 'rolled-back',
          endedAt: '2026-12-07T12:00:00.000Z',
          changes: [
            { stepId: 'cap-context', summary: 'cap chat/acme at 8192 input tokens', appliedAt: 'a', undoneAt: 'b' },
          ],
          costBeforeUsdPerHour: 5_760,
          costAfterUsdPerHour: 1_200.5,
          savedUsd: 9_119,
          escalatedTo: null,
          rollbackReason: 'alert resolved',
        },
      }),
    ),
  );
  const rendered = JSON.stringify(blocks);
  expect(rendered).toContain('• cap chat/acme at 8192 input tokens');
  expect(rendered).toContain('Cost before the first change $5,760/h, after $1,200.5/h.');
  expect(rendered).toContain('The run ended rolled-back. Saved $9,119 while the changes were in force.');
});

test('a closed CAPA shows who closed it and no buttons', () => {
  const { text, blocks } = capaMessage(
    notice(status({ state: 'closed', closed: { by: 'U0SRE', at: '2026-12-08T09:00:00.000Z', note: 'done <@U0X>' } })),
  );
  expect(text).toMatch(/^CAPA closed: /);
  expect(blocks.some((block) => block.type === 'actions')).toBe(false);
  expect(JSON.stringify(blocks)).toContain('Closed by <@U0SRE>');
  expect(JSON.stringify(blocks)).toContain('done &lt;@U0X&gt;');
});

test('the reminder says what is missing, and that it is overdue', () => {
  const overdue = status({ fields: { rootCause: 'x', owner: 'U0A', dueDate: '2026-12-01' } });
  expect(capaReminderText(notice(overdue), true, '<@U0A>')).toBe(
    '<@U0A> this CAPA is still open. It was due on 2026-12-01: it is overdue. Still to fill: Corrective action, Preventive action.',
  );
});

test('the modal carries the CAPA id and holds what is filled', () => {
  const modal = capaModal(status({ fields: { rootCause: 'a template', owner: 'U0A', dueDate: '2026-12-21' } }));
  expect(modal).toMatchObject({ callback_id: 'capa_fill_modal', private_metadata: status().capaId });
  // After the title section, the inputs.
  const inputs = modal.blocks.slice(1) as Array<{ block_id: string }>;
  const byBlock = Object.fromEntries(inputs.map((block) => [block.block_id, block as unknown]));
  expect(byBlock.rootCause).toMatchObject({ element: { initial_value: 'a template' } });
  expect(byBlock.owner).toMatchObject({ element: { initial_user: 'U0A' } });
  expect(byBlock.dueDate).toMatchObject({ element: { initial_date: '2026-12-21' } });
});
