// Makes sure the namespace knows the run's search attributes before any run upserts them; a run
// that upserts an unknown attribute would fail its workflow task over and over.
import type { Connection } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;
const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};
const typeOf = (name: string) => Object.values(SEARCH_ATTRIBUTES).find((key) => key.name === name)!.type;

/** Creates the missing ones; returns their names. Throws an actionable error when not allowed. */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const names = Object.values(SEARCH_ATTRIBUTES).map(({ name }) => name);
  let missing: string[];
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    missing = names.filter((name) => !(name in (customAttributes ?? {})));
    if (missing.length === 0) return [];
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, INDEXED_TYPE[typeOf(name)]!])),
    });
  } catch (error) {
    const commands = names
      .map(
        (name) =>
          `  temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${TypedSearchAttributes.toMetadataType(typeOf(name))}`,
      )
      .join('\n');
    throw new Error(
      `cannot register the search attributes in namespace ${namespace} (${(error as Error).message}). Create them once:\n${commands}`,
    );
  }
  return missing;
}
