// Typed search attributes every run sets, so the Temporal UI and `temporal workflow list --query`
// answer "what ran, on what, which version, in what state". The dev server registers them at
// start; an existing cluster needs them created once (see README).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  playbook: defineSearchAttributeKey('FinopsPlaybook', SearchAttributeType.KEYWORD),
  digest: defineSearchAttributeKey('FinopsPlaybookDigest', SearchAttributeType.KEYWORD),
  severity: defineSearchAttributeKey('FinopsSeverity', SearchAttributeType.KEYWORD),
  tenant: defineSearchAttributeKey('FinopsTenant', SearchAttributeType.KEYWORD),
  route: defineSearchAttributeKey('FinopsRoute', SearchAttributeType.KEYWORD),
  model: defineSearchAttributeKey('FinopsModel', SearchAttributeType.KEYWORD),
  target: defineSearchAttributeKey('FinopsTarget', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('FinopsState', SearchAttributeType.KEYWORD),
} as const;

/** `Name=Keyword` pairs, as `temporal server start-dev --search-attribute` takes them. */
export const searchAttributeFlags = () => Object.values(SEARCH_ATTRIBUTES).map(({ name }) => `${name}=Keyword`);
