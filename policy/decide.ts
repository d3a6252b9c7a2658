// One place that answers a policy question: OPA when a server is configured, else the built-in
// rules. When OPA is configured but cannot answer, an S1 question fails closed (the change does not
// run: nobody could check it at the moment it matters most) and an S2/S3 question falls back to the
// built-in rules, saying so.
import { z } from 'zod';
import { actionVerdict, DENIAL_RULES, tierVerdict, type Denial, type PolicyQuestion } from './builtin-rules';
import { OpaError, type OpaClient } from './opa-client';

export interface PolicyDecision {
  allowed: boolean;
  /** For a tier question: the tier the route should be served from. */
  tier?: string;
  reason: string;
  /** For an action question: every rule that refuses it. */
  denials?: Denial[];
  /** OPA's id of the decision (in its decision log), to find it from the run. */
  decisionId?: string;
  source: 'opa' | 'builtin';
}

/** Where each question's decision lives in OPA (policy/rego/finops_soar/*.rego). */
export const OPA_DECISION_PATHS = { action: 'finops_soar/action/decision', tier: 'finops_soar/tier/decision' } as const;

const denialSchema = z.object({ rule: z.enum(DENIAL_RULES), message: z.string() });
const resultSchemas = {
  action: z.object({ allowed: z.boolean(), denials: z.array(denialSchema), reason: z.string() }),
  tier: z.object({ allowed: z.boolean(), tier: z.string(), reason: z.string() }),
};

function builtin(question: PolicyQuestion): PolicyDecision {
  return question.kind === 'action'
    ? { ...actionVerdict(question), source: 'builtin' }
    : { ...tierVerdict(question), source: 'builtin' };
}

async function askOpa(opa: OpaClient, question: PolicyQuestion): Promise<PolicyDecision> {
  const { kind, ...input } = question;
  const { result, decisionId } = await opa.evaluate(OPA_DECISION_PATHS[kind], input);
  const parsed = resultSchemas[kind].safeParse(result);
  if (!parsed.success) {
    throw new OpaError(
      `OPA at ${opa.url} answered data.${OPA_DECISION_PATHS[kind].replaceAll('/', '.')} with ${JSON.stringify(result)}, not a decision: load the policies of this version of finops-soar`,
      false,
    );
  }
  return { ...parsed.data, ...(decisionId !== undefined && { decisionId }), source: 'opa' };
}

const closedOutcome = (question: PolicyQuestion) =>
  question.kind === 'action'
    ? `${question.action} on ${question.target.key} does not run`
    : `route ${question.route} stays on ${question.currentTier}`;

export async function decide(
  question: PolicyQuestion,
  { opa }: { opa?: OpaClient | undefined } = {},
): Promise<PolicyDecision> {
  if (!opa) return builtin(question);
  try {
    return await askOpa(opa, question);
  } catch (error) {
    if (!(error instanceof OpaError)) throw error;
    if (question.severity === 'S1') {
      return {
        allowed: false,
        ...(question.kind === 'tier' && { tier: question.currentTier }),
        reason: `OPA could not answer (${error.message}), and an S1 change fails closed: ${closedOutcome(question)}`,
        source: 'opa',
      };
    }
    const fallback = builtin(question);
    return {
      ...fallback,
      reason: `OPA could not answer (${error.message}), so the built-in rules decided: ${fallback.reason}`,
    };
  }
}
