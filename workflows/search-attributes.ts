// Typed search attributes every run sets, so the Temporal UI and `temporal workflow list --query`
// answer "what ran, on what, which version, in what state". The dev server registers them at
// start; an existing cluster needs them created once (see README).
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  playbook: defineSearchAttributeKey('FinopsPlaybook', SearchAttributeType.KEYWORD),
  digest: defineSearchAttributeKey('FinopsPlaybookDigest', SearchAttributeType.KEYWORD),
  severity: defineSearchAttributeKey('FinopsSeverity', SearchAttributeType.KEYWORD),
  tenant: defineSearchAttributeKey('FinopsTenant', SearchAttributeType.KEYWORD),
  route: defineSearchAttributeKey('FinopsRoute', SearchAttributeType.KEYWORD),
  model: defineSearchAttributeKey('FinopsModel', SearchAttributeType.KEYWORD),
  target: defineSearchAttributeKey('FinopsTarget', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('FinopsState', SearchAttributeType.KEYWORD),
  /** While a run waits to be admitted: what for, and its place in the line (1 is next). */
  waitingFor: defineSearchAttributeKey('FinopsWaitingFor', SearchAttributeType.KEYWORD),
  waitPosition: defineSearchAttributeKey('FinopsWaitPosition', SearchAttributeType.INT),
  /**
   * A CAPA's owner and due date (capa/), to find one's own and the overdue ones. A CAPA's open or closed is in
   * FinopsState: SQL visibility (the dev server, PostgreSQL, MySQL) takes at most 10 Keyword attributes and this is
   * the tenth, so it is spent on the owner, which no other attribute can say.
   */
  capaOwner: defineSearchAttributeKey('FinopsCapaOwner', SearchAttributeType.KEYWORD),
  capaDue: defineSearchAttributeKey('FinopsCapaDue', SearchAttributeType.DATETIME),
} as const;

/** `Name=Keyword` pairs, as `temporal server start-dev --search-attribute` takes them. */
export const searchAttributeFlags = () =>
  Object.values(SEARCH_ATTRIBUTES).map(({ name, type }) => `${name}=${TypedSearchAttributes.toMetadataType(type)}`);

/**
 * Temporal refuses a search attribute value over 2 KiB (the server's limit.searchAttributes.sizeOfValue, see
 * https://docs.temporal.io/search-attribute#search-attribute-limits) by failing the workflow task on every retry,
 * so a run whose alert carried a 3 KiB `model` label never got past its start. Values stay under half that: a
 * longer one keeps its start, then `…` and a digest of the whole, so different long values still differ.
 */
export const MAX_KEYWORD_BYTES = 1_024;

const utf8Length = (codePoint: number) => (codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4);

/** FNV-1a over the UTF-16 code units, as 8 hex digits: pure, so workflow code can use it. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** `value`, or its start, `…` and its digest when it is over MAX_KEYWORD_BYTES in UTF-8. */
export function keywordValue(value: string): string {
  let bytes = 0;
  for (const character of value) bytes += utf8Length(character.codePointAt(0)!);
  if (bytes <= MAX_KEYWORD_BYTES) return value;
  const suffix = `…${fnv1a(value)}`;
  let kept = '';
  let keptBytes = utf8Length('…'.codePointAt(0)!) + 8;
  for (const character of value) {
    keptBytes += utf8Length(character.codePointAt(0)!);
    if (keptBytes > MAX_KEYWORD_BYTES) break;
    kept += character;
  }
  return kept + suffix;
}
