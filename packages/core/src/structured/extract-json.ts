import { jsonrepair } from 'jsonrepair';

/**
 * Finds the JSON in a model's answer. Small models wrap it in prose or code fences, leave
 * trailing commas, use single quotes, or stop mid-object; each step below is tried in
 * order, and the result says which one worked.
 *
 * Reading one answer is synchronous, so while it runs the whole process waits. Every step
 * is therefore bounded: the scans and JSON.parse are linear and read the answer a few times
 * at most; jsonrepair, which is superlinear on some inputs (3.15.0 takes seconds on 100 KB
 * shaped `{'a': 'x'x'x…`), gets one candidate of at most MAX_REPAIR_CHARS; and a time budget
 * is checked between steps. bench/json-repair.ts measures the worst cases.
 */
export type JsonFound =
  | { readonly ok: true; readonly value: unknown; readonly how: 'parsed' | 'extracted' | 'repaired' }
  | { readonly ok: false; readonly reason: string };

/**
 * The longest text handed to jsonrepair. Chosen by measurement (bench/json-repair.ts, a
 * shared 2-core machine): jsonrepair is quadratic on the worst shapes found, and the slowest
 * answer needing repair (`{'a': 'x'x'x…`) took ~15 ms at 8 KB, ~23 at 16 KB, ~57 at 32 KB;
 * 8 KB keeps it well inside the goal of any answer up to 1 MB in under 100 ms. A broken
 * answer longer than this (a long truncated one, say) is re-asked instead of repaired.
 */
export const MAX_REPAIR_CHARS = 8192;
/** Deeper JSON is refused before it is parsed: JSON.parse takes ~0.4 µs per level, and recursive consumers (zod, JSON.stringify) overflow the stack. */
const MAX_DEPTH = 256;
/** Candidate spans looked at beyond the first find (prose may hold brackets before the JSON: "see [1]"). */
const MAX_SPANS = 10;

export interface ReadLimits {
  /** After this much CPU time, no further step starts (a step that has started is bounded by the size limits). @default 50 */
  readonly budgetMs?: number;
  /** The clock, in ms. @default the process's CPU time: a process paused by a busy machine does not use up its budget */
  readonly now?: () => number;
}

/** CPU time of this process in ms (user and system): unlike the wall clock, it does not run while the process waits for a core. */
const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** The time budget of reading one answer: made when reading starts, passed to each step. */
export interface ReadBudget {
  readonly budgetMs: number;
  expired(): boolean;
}

export function createReadBudget(limits: ReadLimits = {}): ReadBudget {
  const now = limits.now ?? cpuMs;
  const budgetMs = limits.budgetMs ?? 50;
  // Started at the first check, which comes after the linear first steps (JSON.parse of the
  // answer, the fence, the first span): a clean answer never reads the clock at all.
  let started: number | undefined;
  return {
    budgetMs,
    expired: () => {
      const at = now();
      started ??= at;
      return at - started > budgetMs;
    },
  };
}

const NOT_FOUND = 'no JSON object or array could be found or repaired in the answer';
const FENCE = /```[a-zA-Z0-9_-]*[ \t]*\n?([\s\S]*?)(?:```|$)/;

/** What findJson found, the exact text it parsed (to skip that text among the spans), and the spans of the trimmed answer when it scanned them. */
interface Found {
  readonly found: JsonFound;
  readonly source?: string;
  readonly ends?: Int32Array;
}

export function findJson(text: string, budget: ReadBudget = createReadBudget()): JsonFound {
  return find(text, budget).found;
}

/**
 * Every JSON value found in the answer, best first: what findJson found, then the values of
 * the balanced {...} or [...] spans in the order they open (a span that parses gives its own
 * objects and arrays too, without parsing them again), at most MAX_SPANS of them. The caller
 * takes the first that validates.
 */
export function findJsonCandidates(text: string, budget: ReadBudget = createReadBudget()): JsonFound[] {
  const { found: first, source, ends } = find(text, budget);
  if (!first.ok || first.how === 'parsed' || !ends) return [first];
  const out: JsonFound[] = [first];
  const trimmed = text.trim();
  const seen = new Set<string>(source === undefined ? [] : [source]);
  let looked = 0;
  // A span that fails to parse is tried again one bracket further in; in all, such spans may cost one more reading of the answer.
  let parseBudget = trimmed.length;
  for (let start = 0; start < trimmed.length && looked < MAX_SPANS; start++) {
    const end = ends[start]!;
    if (end === 0) continue;
    if (budget.expired()) break;
    looked++;
    const span = trimmed.slice(start, end);
    let value: unknown;
    if (span === source && first.ok)
      value = first.value; // found already; what lies inside is new
    else if (seen.has(span)) {
      start = end - 1; // the same text again: nothing new inside either
      continue;
    } else {
      if (span.length > parseBudget) break;
      parseBudget -= span.length;
      const parsed = parseJson(span);
      if (!parsed.ok) continue;
      value = parsed.value;
      out.push({ ok: true, value, how: 'extracted' });
      seen.add(span);
    }
    for (const inner of innerValues(value, MAX_SPANS - looked)) {
      out.push({ ok: true, value: inner, how: 'extracted' });
      looked++;
    }
    start = end - 1; // what lies inside was just taken from the parsed value
  }
  return out;
}

function find(text: string, budget: ReadBudget): Found {
  const trimmed = text.trim();
  if (trimmed === '') return { found: { ok: false, reason: 'the answer is empty' } };
  let tooDeep = false;
  const direct = parseJson(trimmed);
  if (direct.ok) return { found: { ok: true, value: direct.value, how: 'parsed' }, source: trimmed };
  tooDeep ||= direct.tooDeep;

  const fenced = FENCE.exec(trimmed)?.[1]?.trim() || undefined;
  const start = firstBracket(trimmed);
  const ends = spanEnds(trimmed);
  const span = start >= 0 && ends[start]! > 0 ? trimmed.slice(start, ends[start]) : undefined;
  for (const candidate of [fenced, span === fenced ? undefined : span]) {
    if (candidate === undefined) continue;
    const parsed = parseJson(candidate);
    if (parsed.ok) return { found: { ok: true, value: parsed.value, how: 'extracted' }, source: candidate, ends };
    tooDeep ||= parsed.tooDeep;
  }
  if (tooDeep) return { found: { ok: false, reason: `the answer nests objects and arrays deeper than ${MAX_DEPTH} levels` } };

  // One repair, on the best candidate: the fenced body, else from the first bracket to the end (a truncated answer has no closing one).
  const repairable = fenced ?? (start >= 0 ? trimmed.slice(start) : undefined);
  if (repairable === undefined) return { found: { ok: false, reason: NOT_FOUND } };
  return { found: repaired(repairable, repairable !== trimmed, budget), ends };
}

function repaired(candidate: string, partOfAnswer: boolean, budget: ReadBudget): JsonFound {
  const ask = 'answer with valid JSON only';
  if (candidate.length > MAX_REPAIR_CHARS) {
    return {
      ok: false,
      reason: `the answer is not valid JSON and is too large to repair (${candidate.length} characters; repair is tried up to ${MAX_REPAIR_CHARS}): ${ask}`,
    };
  }
  if (depthOf(candidate).depth > MAX_DEPTH) return { ok: false, reason: `the answer nests objects and arrays deeper than ${MAX_DEPTH} levels` };
  if (budget.expired())
    return { ok: false, reason: `the answer is not valid JSON and took too long to read (over ${budget.budgetMs} ms) to try a repair: ${ask}` };
  let text: string;
  try {
    text = jsonrepair(candidate);
  } catch {
    return { ok: false, reason: NOT_FOUND };
  }
  const parsed = parseJson(text);
  // A bare string or number repaired out of the whole answer is prose, not an answer.
  if (parsed.ok && (partOfAnswer || (typeof parsed.value === 'object' && parsed.value !== null))) return { ok: true, value: parsed.value, how: 'repaired' };
  return { ok: false, reason: NOT_FOUND };
}

/**
 * JSON.parse, made safe for text from a model: refused (unparsed) when it nests deeper than
 * MAX_DEPTH, and with every `__proto__` key dropped. JSON.parse itself makes such a key an
 * own property, but code that copies keys with `out[key] = …` would set a prototype from it
 * (`{"__proto__":{"label":"x"}}` passing as `{label:"x"}`); no schema asks for that key.
 */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; tooDeep: boolean } {
  // Balanced text nesting past MAX_DEPTH takes two brackets a level: a shorter one needs no scan
  // (unbalanced deep text fails to parse anyway, and the reason then is not its depth).
  if (text.length > 2 * MAX_DEPTH) {
    const { depth, balanced } = depthOf(text);
    if (depth > MAX_DEPTH) return { ok: false, tooDeep: balanced };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, tooDeep: false };
  }
  // A key spells `__proto__` only literally or through \u escapes (JSON has no other escape for letters or "_").
  if (text.includes('__proto__') || text.includes('\\u')) dropProtoKeys(value);
  return { ok: true, value };
}

/** Deletes every own `__proto__` key in a freshly parsed value. Iterative: depth is bounded by MAX_DEPTH, but no recursion is needed. */
function dropProtoKeys(root: unknown): void {
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (!Array.isArray(node) && Object.hasOwn(node, '__proto__')) delete (node as Record<string, unknown>).__proto__;
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (typeof child === 'object' && child !== null) stack.push(child);
  }
}

/**
 * The objects and arrays inside a parsed value (not the value itself), in about the order
 * their brackets appear in the text, at most `limit`. Depth first, a frame per open
 * container, so it stops after `limit` without visiting the rest.
 */
function innerValues(root: unknown, limit: number): unknown[] {
  const out: unknown[] = [];
  const frames: { children: unknown[]; next: number }[] = [];
  const enter = (node: unknown) => {
    if (typeof node === 'object' && node !== null) frames.push({ children: Array.isArray(node) ? node : Object.values(node), next: 0 });
  };
  enter(root);
  while (frames.length > 0 && out.length < limit) {
    const frame = frames[frames.length - 1]!;
    if (frame.next >= frame.children.length) {
      frames.pop();
      continue;
    }
    const child = frame.children[frame.next++];
    if (typeof child !== 'object' || child === null) continue;
    out.push(child);
    enter(child);
  }
  return out;
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** How deep brackets nest in a text read as JSON from its start (strings skipped), and whether they all close. One pass. */
function depthOf(text: string): { depth: number; balanced: boolean } {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) max = Math.max(max, ++depth);
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth < 0) return { depth: max, balanced: false };
  }
  return { depth: max, balanced: depth === 0 && !inString };
}

/**
 * For each opening bracket that starts a balanced {...} or [...] span, the index just past
 * its closing bracket (0 where none closes). One pass with a stack: strings count only
 * inside a span (a quote in prose before the JSON is just a quote), and a mismatched closing
 * bracket ends every span still open. Typed arrays: a plain array stack grown to a million
 * entries (an answer of a million "[") costs ~100 ms, this ~15.
 */
function spanEnds(text: string): Int32Array {
  const ends = new Int32Array(text.length);
  const open = new Int32Array(text.length);
  let top = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = top > 0;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) open[top++] = i;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && top > 0) {
      const start = open[--top]!;
      if (text.charCodeAt(start) === (c === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)) ends[start] = i + 1;
      else top = 0;
    }
  }
  return ends;
}

function firstBracket(text: string): number {
  const brace = text.indexOf('{');
  const bracket = text.indexOf('[');
  if (brace < 0) return bracket;
  if (bracket < 0) return brace;
  return Math.min(brace, bracket);
}
