/** A JSON Schema node, as plain JSON. */
export type JsonSchema = Record<string, unknown>;

/**
 * Follows a local `$ref` ("#" or "#/$defs/name", JSON Pointer escapes decoded) from
 * `root`; returns the node itself when it has no local reference or the target is missing.
 */
export function resolveLocalRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !(ref === '#' || ref.startsWith('#/'))) return schema;
  let node: unknown = root;
  for (const part of ref.length > 2 ? ref.slice(2).split('/') : []) {
    node = (node as JsonSchema | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return typeof node === 'object' && node !== null ? (node as JsonSchema) : schema;
}
