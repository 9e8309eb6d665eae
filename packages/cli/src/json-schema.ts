import { readFile } from 'node:fs/promises';
import { ShoalConfigError } from '@shoal/core';
import { z } from 'zod';

/**
 * `shoal extract --schema fields.json`: a JSON Schema of an object, read into a zod object
 * schema with zod's `fromJSONSchema` (extract() works on zod objects). Refused, with what to
 * fix, when the file is not JSON or not an object schema.
 */
export async function readObjectSchema(path: string): Promise<z.ZodObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ShoalConfigError(`Cannot read the schema file ${path}: give a JSON Schema file, e.g. {"type":"object","properties":{"name":{"type":"string"}}}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ShoalConfigError(`${path} is not JSON (${(error as Error).message}).`);
  }
  if (
    typeof json !== 'object' ||
    json === null ||
    (json as { type?: unknown }).type !== 'object' ||
    typeof (json as { properties?: unknown }).properties !== 'object'
  ) {
    throw new ShoalConfigError(`${path} must be the JSON Schema of an object: {"type":"object","properties":{...}} listing the fields to extract.`);
  }
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    throw new ShoalConfigError(`${path} is a JSON Schema zod cannot read: ${(error as Error).message}`);
  }
  if (!(schema instanceof z.ZodObject)) throw new ShoalConfigError(`${path} must describe an object with properties.`);
  return schema;
}
