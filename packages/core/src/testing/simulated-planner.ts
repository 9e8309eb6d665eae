import { typeOf } from '../coordinator/plan.js';
import type { JsonSchema } from '../util/json-schema.js';
import { isPlainObject } from '../util/options.js';
import { fits, itemsOf, type Rooted, requiredProperty, resolve, rooted, valueFits } from './schema-fit.js';

/**
 * The simulator's answer to shoal's planner, so that `coordinator.run(task)` works offline.
 * Not a model: it reads the catalogue in the prompt and wires the agents by their schemas.
 *
 * - Every listed agent gets one step (at most 200, the plan's limit), ordered so that an
 *   agent whose input another agent's output can feed comes after it. The output step comes
 *   last: the agent whose output fits the run's output schema (or has its fields), and a
 *   fan-out when that schema is an array; without one, the last agent of that order.
 * - Each required input field is, in this order of preference: a reference to an earlier
 *   step's output (a field of the same name, or the whole output) whose schema surely fits;
 *   the current element of a fan-out, over an earlier step's array or over the pieces of
 *   the task (a JSON array written in it, or a list of "- " lines); the task text itself
 *   when it fits; else a value generated from the field's schema.
 * - Deterministic: the same prompt gets the same plan. A plan sent back with problems gets
 *   the same answer again (the coordinator then ends in PlanError, which says what to try).
 */

interface CatalogueEntry {
  readonly name: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
}

export interface PlannerRequest {
  readonly task: string;
  readonly agents: readonly CatalogueEntry[];
  readonly output?: JsonSchema;
}

/** A value fitting `schema` (its `$ref`s resolved against `root`), from the simulator. */
export type GenerateValue = (schema: JsonSchema, root: JsonSchema) => unknown;

interface Step {
  readonly id: string;
  readonly agent: string;
  readonly input: Record<string, unknown>;
  readonly forEach?: { readonly $ref: string } | readonly unknown[];
  /** The step's output: the agent's, or an array of it for a fan-out. */
  readonly out: Rooted;
}

const MAX_STEPS = 200;
/** A property name usable as one segment of a `$ref` or `$item` path. */
const plainKey = (key: string) => /^[^.[\]\s]+$/.test(key);

/** The planner's request, when `schema` is the plan's schema and the input holds a task and a catalogue. */
export function plannerRequest(schema: JsonSchema, input: string): PlannerRequest | undefined {
  const properties = schema.properties as Record<string, unknown> | undefined;
  if (!properties?.steps || !properties.output) return undefined;
  for (const match of input.matchAll(/```json\s*\n([\s\S]*?)\n```/g)) {
    let value: unknown;
    try {
      value = JSON.parse(match[1]!);
    } catch {
      continue;
    }
    if (!isPlainObject(value) || typeof value.task !== 'string' || !Array.isArray(value.agents) || value.agents.length === 0) continue;
    const agents = value.agents.filter(
      (a): a is CatalogueEntry => isPlainObject(a) && typeof a.name === 'string' && isPlainObject(a.inputSchema) && isPlainObject(a.outputSchema),
    );
    if (agents.length === 0) continue;
    return { task: value.task, agents, ...(isPlainObject(value.output) ? { output: value.output } : {}) };
  }
  return undefined;
}

/** A plan for the request: see the module's comment for how it is built. */
export function simulatedPlan(request: PlannerRequest, generate: GenerateValue): { steps: Omit<Step, 'out'>[]; output: string } {
  const takesObject = (a: CatalogueEntry) => typeOf(resolve(rooted(a.inputSchema)).schema) === 'object';
  const usable = request.agents.some(takesObject) ? request.agents.filter(takesObject) : request.agents;
  const wanted = request.output ? rooted(request.output) : undefined;
  const wantedElement = wanted ? itemsOf(wanted) : undefined;
  const flow = dataFlowOrder(usable);
  const final = finalAgent(usable, wanted, wantedElement, flow);
  // The output step last; the others keep their order (still one where feeders come first).
  const order = [...flow.filter((a) => a !== final).slice(0, MAX_STEPS - 1), final];
  const ids = stepIds(order);
  const pieces = taskPieces(request.task);
  const steps: Step[] = [];
  for (const agent of order) {
    const fanOut = agent !== final || !wanted ? 'may' : wantedElement ? 'must' : 'never';
    steps.push(buildStep(agent, ids.get(agent.name)!, steps, { task: request.task, pieces, fanOut, generate }));
  }
  return { steps: steps.map(({ out: _, ...step }) => step), output: ids.get(final.name)! };
}

/** The agent whose output answers the run: it fits the output schema, or has its required fields; else the last of the data flow. */
function finalAgent(
  agents: readonly CatalogueEntry[],
  wanted: Rooted | undefined,
  element: Rooted | undefined,
  flow: readonly CatalogueEntry[],
): CatalogueEntry {
  const target = element ?? wanted;
  if (target) {
    const fitting = agents.find((a) => fits(rooted(a.outputSchema), target)) ?? agents.find((a) => hasFields(a.outputSchema, target.schema));
    if (fitting) return fitting;
  }
  return flow.at(-1)!;
}

/** The coordinator's own check of a final step: every required field of the output, of the same type. */
function hasFields(produced: JsonSchema, wanted: JsonSchema): boolean {
  const have = (produced.properties ?? {}) as Record<string, JsonSchema>;
  const want = (wanted.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(wanted.required) ? (wanted.required as string[]) : [];
  return required.every((key) => have[key] !== undefined && (typeOf(want[key]) === undefined || typeOf(have[key]) === typeOf(want[key])));
}

function requiredFields(agent: CatalogueEntry): { key: string; target: Rooted }[] {
  const { schema, root } = resolve(rooted(agent.inputSchema));
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return required.map((key) => ({ key, target: { schema: properties[key] ?? {}, root } }));
}

/** Arrays of a step's output a fan-out can run over: its required array fields, or the whole output of a fan-out. */
function arraysOf(out: Rooted, ref: string): { ref: string; element: Rooted }[] {
  const whole = itemsOf(out);
  if (whole) return [{ ref, element: whole }];
  const { schema } = resolve(out);
  return Object.keys((schema.properties ?? {}) as object).flatMap((key) => {
    const field = plainKey(key) ? requiredProperty(out, key) : undefined;
    const element = field ? itemsOf(field) : undefined;
    return element ? [{ ref: `${ref}.${key}`, element }] : [];
  });
}

/** What one agent offers other agents (its output, whole, as a fan-out, and its arrays' elements) and what it needs. */
interface Shape {
  readonly out: Rooted;
  readonly asFanOut: Rooted;
  readonly arrays: readonly { ref: string; element: Rooted }[];
  readonly needs: readonly { key: string; target: Rooted }[];
}

function shapeOf(agent: CatalogueEntry): Shape {
  const out = rooted(agent.outputSchema);
  return {
    out,
    asFanOut: { schema: { type: 'array', items: agent.outputSchema }, root: agent.outputSchema },
    arrays: arraysOf(out, agent.name),
    needs: requiredFields(agent),
  };
}

/** Whether some output of `a` (a field, the whole, its elements, or its results as a fan-out) can fill a required input of `b`. */
function canFeed(a: Shape, b: Shape): boolean {
  return b.needs.some(({ key, target }) => {
    const field = requiredProperty(a.out, key);
    if ((field && fits(field, target)) || fits(a.out, target) || fits(a.asFanOut, target)) return true;
    return a.arrays.some(({ element }) => {
      const named = requiredProperty(element, key);
      return fits(element, target) || (named !== undefined && fits(named, target));
    });
  });
}

/** Agents ordered so that each comes after the agents that can feed it (a cycle is broken at the first listed). */
function dataFlowOrder(agents: readonly CatalogueEntry[]): CatalogueEntry[] {
  const shapes = new Map(agents.map((a) => [a, shapeOf(a)]));
  const feeders = new Map(agents.map((b) => [b, agents.filter((a) => a !== b && canFeed(shapes.get(a)!, shapes.get(b)!))]));
  const order: CatalogueEntry[] = [];
  const placed = new Set<CatalogueEntry>();
  const left = [...agents];
  while (left.length > 0) {
    const next = left.find((b) => feeders.get(b)!.every((a) => placed.has(a))) ?? left[0]!;
    order.push(next);
    placed.add(next);
    left.splice(left.indexOf(next), 1);
  }
  return order;
}

/** Step ids from agent names: the last dotted part when no other agent shares it, made a valid id, never twice. */
function stepIds(agents: readonly CatalogueEntry[]): Map<string, string> {
  const last = (name: string) => name.split('.').at(-1) || name;
  const shared = new Map<string, number>();
  for (const a of agents) shared.set(last(a.name), (shared.get(last(a.name)) ?? 0) + 1);
  const used = new Set<string>();
  const ids = new Map<string, string>();
  for (const a of agents) {
    let base = (shared.get(last(a.name)) === 1 ? last(a.name) : a.name).replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 56);
    if (!/^[a-zA-Z]/.test(base)) base = `step-${base}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    ids.set(a.name, id);
  }
  return ids;
}

interface BuildContext {
  readonly task: string;
  readonly pieces: readonly unknown[] | undefined;
  /** `must` for an output step whose answer is an array, `never` for one whose answer is an object. */
  readonly fanOut: 'may' | 'must' | 'never';
  readonly generate: GenerateValue;
}

function buildStep(agent: CatalogueEntry, id: string, earlier: readonly Step[], context: BuildContext): Step {
  const input: Record<string, unknown> = {};
  const open: { key: string; target: Rooted }[] = [];
  for (const field of requiredFields(agent)) {
    const ref = plainKey(field.key) ? directReference(field.key, field.target, earlier) : undefined;
    if (ref) input[field.key] = { $ref: ref };
    else open.push(field);
  }
  let forEach: Step['forEach'];
  if (context.fanOut === 'must' || (context.fanOut === 'may' && open.length > 0)) {
    for (const step of [...earlier].reverse()) {
      for (const source of arraysOf(step.out, step.id)) {
        const items = matchElement(open, (key, target) => {
          const property = key === '' ? source.element : requiredProperty(source.element, key);
          return property !== undefined && fits(property, target);
        });
        if (items.size > 0) {
          forEach = { $ref: source.ref };
          for (const [key, path] of items) input[key] = { $item: path };
          break;
        }
      }
      if (forEach) break;
    }
    const pieces = context.pieces ?? (context.fanOut === 'must' ? [context.task] : undefined);
    if (!forEach && pieces) {
      const items = matchElement(open, (key, target) =>
        pieces.every((piece) => (key === '' ? valueFits(piece, target) : isPlainObject(piece) && key in piece && valueFits(piece[key], target))),
      );
      if (items.size > 0 || context.fanOut === 'must') {
        forEach = pieces;
        for (const [key, path] of items) input[key] = { $item: path };
      }
    }
  }
  for (const { key, target } of open) {
    if (key in input) continue;
    input[key] = valueFits(context.task, target) ? context.task : context.generate(target.schema, target.root);
  }
  const out: Rooted = forEach ? { schema: { type: 'array', items: agent.outputSchema }, root: agent.outputSchema } : rooted(agent.outputSchema);
  return { id, agent: agent.name, input, ...(forEach ? { forEach } : {}), out };
}

/** An earlier step's output (a same-named required field, or the whole) that surely fits the target: the latest such step. */
function directReference(key: string, target: Rooted, earlier: readonly Step[]): string | undefined {
  for (const step of [...earlier].reverse()) {
    const field = requiredProperty(step.out, key);
    if (field && fits(field, target)) return `${step.id}.${key}`;
    if (fits(step.out, target)) return step.id;
  }
  return undefined;
}

/** Which open fields a fan-out's element can fill: by name (`$item: "key"`), else one field by the whole element (`$item: ""`). */
function matchElement(open: readonly { key: string; target: Rooted }[], fitsAt: (key: string, target: Rooted) => boolean): Map<string, string> {
  const found = new Map<string, string>();
  for (const { key, target } of open) if (plainKey(key) && fitsAt(key, target)) found.set(key, key);
  const whole = open.find(({ key, target }) => !found.has(key) && fitsAt('', target));
  if (whole) found.set(whole.key, '');
  return found;
}

/** The pieces of a task: the first non-empty JSON array written in it, else its "- " or "1. " lines (two or more). */
function taskPieces(task: string): unknown[] | undefined {
  let tries = 0;
  for (let start = task.indexOf('['); start !== -1 && tries < 32; start = task.indexOf('[', start + 1), tries++) {
    const end = closingBracket(task, start);
    if (end === -1) continue;
    try {
      const value: unknown = JSON.parse(task.slice(start, end + 1));
      if (Array.isArray(value) && value.length > 0) return value;
    } catch {
      // not JSON: try the next bracket
    }
  }
  const lines = task.split('\n').flatMap((line) => line.match(/^\s*(?:[-*•]|\d+[.)])\s+(\S.*)$/)?.slice(1, 2) ?? []);
  return lines.length >= 2 ? lines : undefined;
}

/** Where the bracket opened at `start` closes (strings skipped), or -1. */
function closingBracket(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return c === ']' ? i : -1;
    }
  }
  return -1;
}
