// Slack's interactivity requests about CAPAs, read after the signature is verified: a click on a CAPA's Fill in or
// Close button (block_actions), and the Fill in modal submitted (view_submission, as
// https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload describes it). Anything else is
// not a CAPA's, and the approval parser answers for it.
import { z } from 'zod';
import { CAPA_FIELDS, type CapaFields } from '../../workflows/capa/definitions';
import { CAPA_CLOSE_ACTION_ID, CAPA_FILL_ACTION_ID, CAPA_MODAL_CALLBACK_ID } from './capa-message';

const capaClickSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1) }),
  trigger_id: z.string().min(1),
  actions: z
    .array(
      z.object({
        action_id: z.enum([CAPA_FILL_ACTION_ID, CAPA_CLOSE_ACTION_ID]),
        value: z.string().min(1),
        action_ts: z.string().min(1),
      }),
    )
    .min(1),
  response_url: z.url(),
});

// Each input block of the modal holds one element, its action_id `value`.
const inputStateSchema = z.object({
  value: z
    .object({
      type: z.string(),
      value: z.string().nullish(),
      selected_user: z.string().nullish(),
      selected_date: z.string().nullish(),
    })
    .optional(),
});

const capaSubmissionSchema = z.object({
  type: z.literal('view_submission'),
  user: z.object({ id: z.string().min(1) }),
  view: z.object({
    id: z.string().min(1),
    callback_id: z.literal(CAPA_MODAL_CALLBACK_ID),
    private_metadata: z.string().min(1),
    state: z.object({ values: z.record(z.string(), inputStateSchema) }),
  }),
});

export interface CapaClick {
  kind: 'fill' | 'close';
  user: string;
  capaId: string;
  triggerId: string;
  actionTs: string;
  responseUrl: string;
}

export interface CapaSubmission {
  user: string;
  capaId: string;
  viewId: string;
  /** What the modal holds: every field with a value (unchanged ones too). */
  fields: Partial<CapaFields>;
}

export type CapaInteraction =
  | { kind: 'click'; click: CapaClick }
  | { kind: 'submission'; submission: CapaSubmission }
  | { kind: 'invalid'; reason: string };

/** The CAPA interaction in the form body, or null when the request is not about a CAPA. */
export function parseCapaInteraction(formBody: string): CapaInteraction | null {
  const payload = new URLSearchParams(formBody).get('payload');
  let json: { type?: unknown; actions?: Array<{ action_id?: unknown }>; view?: { callback_id?: unknown } } | null;
  try {
    json = payload === null ? null : (JSON.parse(payload) as typeof json);
  } catch {
    return null;
  }
  const isClick =
    json?.type === 'block_actions' &&
    [CAPA_FILL_ACTION_ID, CAPA_CLOSE_ACTION_ID].includes(String(json.actions?.[0]?.action_id));
  const isSubmission = json?.type === 'view_submission' && json.view?.callback_id === CAPA_MODAL_CALLBACK_ID;
  if (!isClick && !isSubmission) return null;
  if (isClick) {
    const parsed = capaClickSchema.safeParse(json);
    if (!parsed.success) return { kind: 'invalid', reason: `CAPA button: ${parsed.error.issues[0]!.message}` };
    const { user, trigger_id, actions, response_url } = parsed.data;
    const [button] = actions as [(typeof actions)[number]];
    return {
      kind: 'click',
      click: {
        kind: button.action_id === CAPA_FILL_ACTION_ID ? 'fill' : 'close',
        user: user.id,
        capaId: button.value,
        triggerId: trigger_id,
        actionTs: button.action_ts,
        responseUrl: response_url,
      },
    };
  }
  const parsed = capaSubmissionSchema.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: `CAPA form: ${parsed.error.issues[0]!.message}` };
  const { user, view } = parsed.data;
  const fields: Partial<CapaFields> = {};
  for (const name of CAPA_FIELDS) {
    const element = view.state.values[name]?.value;
    const value = element?.value ?? element?.selected_user ?? element?.selected_date;
    if (value) fields[name] = value;
  }
  return { kind: 'submission', submission: { user: user.id, capaId: view.private_metadata, viewId: view.id, fields } };
}
