import { z } from 'zod';
import type { Agent } from '../agent/types.js';
import type { PlanIssue } from '../errors/issues.js';
import { type JsonSchema, resolveLocalRef } from '../util/json-schema.js';
import { parseItemPath, parseReference } from './plan-paths.js';

/**
 * A plan: a DAG of agent steps. An input value may be a literal, `{"$ref": "step.path"}`
 * (an earlier step's output, or part of it), or, in a fan-out step, `{"$item": "path"}`
 * (the current element). A fan-out step (`forEach`) runs its agent once per element of an
 * array (an earlier step's output by reference, or a literal array) and outputs the array
 * of results. `output` names the step whose output is the run's answer.
 */
const stepId = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'step ids are letters, digits, "_" and "-", starting with a letter');

export const planSchema = z.object({
  /** The steps, 1 to 200. */
  steps: z
    .array(
      z.object({
        /** The step's id: letters, digits, `_` and `-`, starting with a letter; references name it. */
        id: stepId,
        /** The name of the agent that runs the step. */
        agent: z.string().min(1),
        /** The agent's input: literals, `{"$ref": "step.path"}` references and, in a fan-out step, `{"$item": "path"}`. */
        input: z.record(z.string(), z.unknown()),
        /** Steps that must finish first, besides the ones its references name. */
        dependsOn: z.array(z.string()).optional(),
        /** Makes it a fan-out: the agent runs once per element of this array (a reference or a literal), and the step outputs the array of results. */
        forEach: z
          .union([
            z.object({
              /** A reference to an earlier step's array: `"step.path"`. */
              $ref: z.string(),
            }),
            z.array(z.unknown()),
          ])
          .optional(),
        /** The step's failure policy: `retry` (once more), `skip` (yields null) or `fail` (the run stops). @default the run's `onStepError` */
        onError: z.enum(['retry', 'skip', 'fail']).optional(),
      }),
    )
    .min(1)
    .max(200),
  /** The id of the step whose output is the run's answer. */
  output: z.string(),
});

/** A plan: a DAG of agent steps, and the step whose output answers the task. */
export type Plan = z.output<typeof planSchema>;
/** One step of a plan. */
export type PlanStep = Plan['steps'][number];

/**
 * How deep a literal input may nest, and how many segments a reference or `$item` path may
 * have. Validation, reference scanning and, when the plan runs, resolving inputs all walk
 * these recursively; a plan is JSON a model (or a caller) wrote, and without a bound one
 * nested 20,000 deep overflows the stack with an untyped RangeError instead of a PlanError.
 * No real plan comes near 64.
 */
const MAX_DEPTH = 64;

type Json = JsonSchema;

/** The JSON Schema at `path` inside `schema` (undefined when the path cannot exist; {} when the schema says nothing). */
function schemaAt(schema: Json, path: readonly (string | number)[], root: Json = schema): Json | undefined {
  const node = resolveLocalRef(schema, root);
  if (path.length === 0) return node;
  const options = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (Array.isArray(options)) {
    for (const option of options) {
      const found = schemaAt(option, path, root);
      if (found) return found;
    }
    return undefined;
  }
  const [part, ...rest] = path;
  if (Object.keys(node).length === 0) return {};
  if (typeof part === 'number') return node.items && typeof node.items === 'object' ? schemaAt(node.items as Json, rest, root) : undefined;
  const properties = node.properties as Record<string, Json> | undefined;
  if (properties && part! in properties) return schemaAt(properties[part!]!, rest, root);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') return schemaAt(node.additionalProperties as Json, rest, root);
  return undefined;
}

/** A schema's JSON type as plans compare them (an integer is a number); undefined when it does not say. */
export function typeOf(schema: Json | undefined): string | undefined {
  if (!schema) return undefined;
  if (typeof schema.type === 'string') return schema.type === 'integer' ? 'number' : schema.type;
  if (Array.isArray(schema.type)) return undefined;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  if (Array.isArray(schema.enum) && schema.enum.every((e) => typeof e === 'string')) return 'string';
  return undefined;
}

/** Every `$ref` and `$item` inside an input value, down to MAX_DEPTH levels (validatePlan reports deeper literals). */
export function collectReferences(value: unknown, out: { refs: { ref: string; at: string[] }[]; items: { path: string; at: string[] }[] }, at: string[] = []) {
  if (at.length > MAX_DEPTH) return out;
  if (Array.isArray(value)) value.forEach((v, i) => collectReferences(v, out, [...at, String(i)]));
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && typeof record.$ref === 'string') out.refs.push({ ref: record.$ref, at });
    else if (keys.length === 1 && '$item' in record && (typeof record.$item === 'string' || record.$item === null))
      out.items.push({ path: (record.$item as string | null) ?? '', at });
    else for (const key of keys) collectReferences(record[key], out, [...at, key]);
  }
  return out;
}

/** A plan that passed every check, with its order worked out. */
export interface ValidatedPlan {
  /** The plan as checked. */
  readonly plan: Plan;
  /** Steps in an order where every step comes after what it depends on. */
  readonly order: readonly string[];
  /** Each step's dependencies: its `dependsOn`, and the steps its references read. */
  readonly dependencies: ReadonlyMap<string, ReadonlySet<string>>;
  /** Longest chain of dependencies before each step (0 for steps that depend on nothing). */
  readonly depth: ReadonlyMap<string, number>;
}

/**
 * Checks a plan before anything runs: the shape, unknown agents, duplicate ids,
 * references to missing steps or paths, a cycle, and inputs that do not fit the agent's
 * input schema (literals validated, references checked by type and path). Returns the
 * issues, or the plan with its order and depths.
 */
export function validatePlan(
  raw: unknown,
  agents: (name: string) => Agent | undefined,
): { readonly ok: true; readonly value: ValidatedPlan } | { readonly ok: false; readonly issues: PlanIssue[] } {
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) =>
        planIssue(
          undefined,
          i.code,
          i.path.map((p) => (typeof p === 'number' ? p : String(p))),
          `${i.path.join('.') || '(plan)'}: ${i.message}`,
        ),
      ),
    };
  }
  const plan = parsed.data;
  const issues: PlanIssue[] = [];
  const byId = new Map<string, PlanStep>();
  for (const step of plan.steps) {
    if (byId.has(step.id)) issues.push(planIssue(step.id, 'duplicate_step', ['steps', step.id, 'id'], 'the id is used by two steps'));
    byId.set(step.id, step);
  }
  const dependencies = new Map<string, Set<string>>();
  for (const step of plan.steps) {
    const deps = new Set<string>(step.dependsOn ?? []);
    dependencies.set(step.id, deps);
    const agent = agents(step.agent);
    if (!agent) issues.push(planIssue(step.id, 'unknown_agent', ['steps', step.id, 'agent'], `unknown agent \`${step.agent}\` (known: ${knownList(agents)})`));
    for (const dep of step.dependsOn ?? [])
      if (!byId.has(dep)) issues.push(planIssue(step.id, 'missing_step', ['steps', step.id, 'dependsOn'], `depends on a missing step \`${dep}\``));
    // Depth first: every check below walks the input recursively.
    const tooDeep = tooDeepLiterals(step);
    if (tooDeep.length > 0) {
      issues.push(...tooDeep);
      continue;
    }
    const found = collectReferences(step.input, { refs: [], items: [] });
    const forEachRef = step.forEach && !Array.isArray(step.forEach) ? step.forEach.$ref : undefined;
    const references = [...found.refs, ...(forEachRef ? [{ ref: forEachRef, at: ['forEach'] }] : [])];
    for (const { ref, at } of references) {
      const parsedRef = parseReference(ref);
      const where = at.length ? `input.${at.join('.')}` : 'input';
      const path = ['steps', step.id, ...(at[0] === 'forEach' ? at : ['input', ...at])];
      if (!parsedRef) {
        issues.push(planIssue(step.id, 'not_a_reference', path, `${where}: ${quote(ref)} is not a reference (write "step" or "step.path.to[0].field")`));
        continue;
      }
      if (parsedRef.path.length + 1 > MAX_DEPTH) {
        issues.push(planIssue(step.id, 'path_too_long', path, pathTooLong(where, ref, parsedRef.path.length + 1)));
        continue;
      }
      const source = byId.get(parsedRef.step);
      if (!source) {
        issues.push(planIssue(step.id, 'missing_step', path, `${where} refers to a missing step \`${parsedRef.step}\``));
        continue;
      }
      if (source.id === step.id) {
        issues.push(planIssue(step.id, 'self_reference', path, `${where} refers to its own step`));
        continue;
      }
      deps.add(source.id);
      const sourceAgent = agents(source.agent);
      if (!sourceAgent) continue;
      const outputSchema = stepOutputSchema(source, sourceAgent);
      const target = schemaAt(outputSchema, parsedRef.path);
      if (!target) issues.push(planIssue(step.id, 'missing_path', path, `${where}: \`${parsedRef.step}\`'s output has no path ${formatPath(parsedRef.path)}`));
      else if (at[0] === 'forEach' && typeOf(target) !== undefined && typeOf(target) !== 'array') {
        issues.push(planIssue(step.id, 'not_an_array', path, `forEach must refer to an array; ${ref} is ${typeOf(target)}`));
      } else if (agent && at.length === 1 && at[0] !== 'forEach') {
        const expected = typeOf(schemaAt(agent.metadata().inputSchema as Json, [at[0]!]));
        const actual = typeOf(target);
        if (expected && actual && expected !== actual)
          issues.push(planIssue(step.id, 'type_mismatch', path, `${where} expects ${expected} but ${ref} is ${actual}`));
      }
    }
    if (found.items.length > 0 && !step.forEach)
      issues.push(planIssue(step.id, 'item_outside_for_each', ['steps', step.id, 'input'], '"$item" is only meaningful in a step with forEach'));
    // Each $item path must parse and, when the elements' schema is known, exist in it.
    const element = forEachRef ? elementSchema(forEachRef, byId, agents) : undefined;
    for (const { path, at } of found.items) {
      const parsedPath = parseItemPath(path);
      const where = `input.${at.join('.')}`;
      const itemPath = ['steps', step.id, 'input', ...at];
      if (!parsedPath)
        issues.push(
          planIssue(step.id, 'not_a_path', itemPath, `${where}: "$item" path ${quote(path)} is not a path (write "" for the element, or "field.sub[0]")`),
        );
      else if (parsedPath.length > MAX_DEPTH) issues.push(planIssue(step.id, 'path_too_long', itemPath, pathTooLong(where, path, parsedPath.length)));
      else if (element && !schemaAt(element, parsedPath))
        issues.push(planIssue(step.id, 'missing_path', itemPath, `${where}: the forEach elements have no path ${formatPath(parsedPath)}`));
    }
    if (agent) issues.push(...checkInput(step, agent));
  }
  if (!byId.has(plan.output)) issues.push(planIssue(undefined, 'missing_step', ['output'], `output names a missing step \`${plan.output}\``));
  // Cycles: Kahn's algorithm; whatever is left over sits on a cycle.
  const order: string[] = [];
  const remaining = new Map([...dependencies].map(([id, deps]) => [id, new Set([...deps].filter((d) => byId.has(d)))]));
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, deps]) => deps.size === 0).map(([id]) => id);
    if (ready.length === 0) {
      issues.push(
        planIssue(undefined, 'cycle', ['steps'], `the steps ${[...remaining.keys()].map((id) => `\`${id}\``).join(', ')} depend on each other in a cycle`),
      );
      break;
    }
    for (const id of ready) {
      order.push(id);
      remaining.delete(id);
      for (const deps of remaining.values()) deps.delete(id);
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  const depth = new Map<string, number>();
  for (const id of order) depth.set(id, Math.max(-1, ...[...dependencies.get(id)!].map((d) => depth.get(d)!)) + 1);
  return { ok: true, value: { plan, order, dependencies, depth } };
}

/** A step's output schema: the agent's, or an array of them for a fan-out (root $defs kept, so references still resolve). */
function stepOutputSchema(step: PlanStep, agent: Agent): Json {
  const schema = agent.metadata().outputSchema as Json;
  return step.forEach ? { type: 'array', items: schema, ...(schema.$defs ? { $defs: schema.$defs } : {}) } : schema;
}

/** The schema of one element of a forEach reference, when it can be known. */
function elementSchema(ref: string, byId: ReadonlyMap<string, PlanStep>, agents: (name: string) => Agent | undefined): Json | undefined {
  const parsed = parseReference(ref);
  const source = parsed ? byId.get(parsed.step) : undefined;
  const agent = source ? agents(source.agent) : undefined;
  if (!parsed || !source || !agent || parsed.path.length + 1 > MAX_DEPTH) return undefined; // a path too long is reported with the references
  const root = stepOutputSchema(source, agent);
  const array = schemaAt(root, parsed.path);
  const items = array && typeof array.items === 'object' ? (array.items as Json) : undefined;
  // Keep the root's $defs beside the element, so its references resolve.
  return items ? { ...items, ...(root.$defs && !items.$defs ? { $defs: root.$defs } : {}) } : undefined;
}

/** Literal inputs validated against the agent's schema; references stand in for required fields. */
function checkInput(step: PlanStep, agent: Agent): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const schema = agent.metadata().inputSchema as Json;
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  for (const key of required) {
    if (!(key in step.input))
      issues.push(
        planIssue(step.id, 'missing_field', ['steps', step.id, 'input', key], `input misses the required field \`${key}\` of agent \`${agent.name}\``),
      );
  }
  if (schema.additionalProperties === false) {
    for (const key of Object.keys(step.input))
      if (!(key in properties))
        issues.push(
          planIssue(step.id, 'unknown_field', ['steps', step.id, 'input', key], `input has a field \`${key}\` that agent \`${agent.name}\` does not take`),
        );
  }
  const shape = (agent.input as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (shape) {
    for (const [key, value] of Object.entries(step.input)) {
      const field = shape[key];
      if (!field || containsReference(value)) continue;
      const result = field.safeParse(value);
      if (!result.success)
        issues.push(
          planIssue(step.id, 'invalid_value', ['steps', step.id, 'input', key], `input.${key}: ${result.error.issues.map((i) => i.message).join('; ')}`),
        );
    }
  }
  return issues;
}

/** Literal inputs (and a literal forEach array) that nest deeper than MAX_DEPTH, as issues that say what to do instead. */
function tooDeepLiterals(step: PlanStep): PlanIssue[] {
  const fields: [string[], unknown][] = Object.entries(step.input).map(([key, value]) => [['input', key], value]);
  if (Array.isArray(step.forEach)) fields.push([['forEach'], step.forEach]);
  return fields
    .filter(([, value]) => nestsDeeperThan(value, MAX_DEPTH))
    .map(([at]) =>
      planIssue(
        step.id,
        'too_deep',
        ['steps', step.id, ...at],
        `${at.join('.')}: the literal nests deeper than ${MAX_DEPTH} levels; flatten it, or pass it as a JSON string for the agent to parse`,
      ),
    );
}

/** Whether objects and arrays nest more than `limit` levels inside `value`. Iterative, so any depth is measured without recursion. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

/** One plan problem: its code, where in the plan (a path from the plan's root, steps by id), and what. */
export function planIssue(step: string | undefined, code: string, path: readonly (string | number)[], message: string): PlanIssue {
  return { code, path, message, step };
}

function pathTooLong(where: string, path: string, segments: number): string {
  return `${where}: ${quote(path)} has ${segments} segments; a path may have at most ${MAX_DEPTH} (name a shallower part)`;
}

/** A path or reference as messages show it: quoted, and cut, since the text came from a model and may be huge. */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function containsReference(value: unknown): boolean {
  const found = collectReferences(value, { refs: [], items: [] });
  return found.refs.length > 0 || found.items.length > 0;
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('') || '(whole output)';
}

function knownList(agents: (name: string) => Agent | undefined): string {
  const list = (agents as { names?: () => string[] }).names?.();
  return list ? list.join(', ') : 'see the catalogue';
}
