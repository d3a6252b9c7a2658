// Turns zod issues into messages a person can act on: the field path, what is wrong, and the
// field's description from the schema, which says what a valid value looks like.
import type { z } from 'zod';

/** Formats a path the way people write it: `alerts[0].labels.route`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    const name = String(key);
    if (!/^[A-Za-z_][\w-]*$/.test(name)) return `${text}[${JSON.stringify(name)}]`;
    return text ? `${text}.${name}` : name;
  }, '');
}

interface SchemaNode {
  description?: string;
  _zod: {
    def: {
      type: string;
      innerType?: SchemaNode;
      in?: SchemaNode;
      shape?: Record<string, SchemaNode>;
      element?: SchemaNode;
      valueType?: SchemaNode;
    };
  };
}

/** The schema one wrapper inward (optional, default, nullable, pipe…), if `node` is a wrapper. */
function unwrap(node: SchemaNode): SchemaNode | undefined {
  const { def } = node._zod;
  return def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
}

function childOf(node: SchemaNode, key: PropertyKey): SchemaNode | undefined {
  let container: SchemaNode | undefined = node;
  while (container && unwrap(container)) container = unwrap(container);
  const def = container?._zod.def;
  if (def?.type === 'object') return def.shape?.[String(key)];
  if (def?.type === 'array') return def.element;
  if (def?.type === 'record') return def.valueType;
  return undefined;
}

function descriptionAt(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  let node: SchemaNode | undefined = schema;
  for (const key of path) node = node && childOf(node, key);
  // `.describe()` may sit on any wrapper layer (e.g. `.optional().describe(…)`).
  for (let layer = node; layer; layer = unwrap(layer)) if (layer.description) return layer.description;
  return undefined;
}

/** One line per issue: `path: message. Expected: description`. */
export function formatIssues(error: z.ZodError, schema?: z.ZodType): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(issue.path) || '(top level)';
    const hint = schema && descriptionAt(schema, issue.path);
    if (!hint) return `${where}: ${issue.message}`;
    // The description lists the choices already; zod's own list of them would say it twice.
    const message = issue.code === 'invalid_value' && issue.values.length > 1 ? 'Invalid option' : issue.message;
    return `${where}: ${message}. Expected: ${hint}`;
  });
}
