// A cost playbook for the CAPA tests: family cost, so that its every run opens a CAPA (finops.capa.families), and one
// change to undo.
export const COST_PLAYBOOK = `
name: cap-context-cost
description: Tokens per request far above baseline; cap the context.
severity: S2
family: cost
match: ['alertname="LLMInputTokensPerRequestHigh"']
target: route
steps:
  - id: cap-context
    action: gateway.setRoutePolicy
    params: { policy: { maxInputTokens: 8192 } }
`;
