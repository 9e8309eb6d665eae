import { jsonrepair } from 'jsonrepair';

/**
 * Finds the JSON in a model's answer. Small models wrap it in prose or code fences, leave
 * trailing commas, use single quotes, or stop mid-object; each step below is tried in
 * order, and the result says which one worked.
 */
export type JsonFound =
  | { readonly ok: true; readonly value: unknown; readonly how: 'parsed' | 'extracted' | 'repaired' }
  | { readonly ok: false; readonly reason: string };

const FENCE = /```[a-zA-Z0-9_-]*[ \t]*\n?([\s\S]*?)(?:```|$)/;

/**
 * Every JSON value found in the answer, best first: the whole text, a fenced block, each
 * balanced {...} or [...] span (prose may hold brackets before the JSON: "see [1]"), then
 * repairs. The caller takes the first that validates.
 */
export function findJsonCandidates(text: string): JsonFound[] {
  const first = findJson(text);
  if (!first.ok || first.how === 'parsed') return [first];
  const out: JsonFound[] = [first];
  const trimmed = text.trim();
  let from = 0;
  for (let n = 0; n < 10; n++) {
    const start = firstBracket(trimmed.slice(from));
    if (start < 0) break;
    const span = balancedSpan(trimmed.slice(from + start));
    from += start + 1;
    if (!span) continue;
    const parsed = tryParse(span);
    if (parsed.ok && !out.some((c) => c.ok && JSON.stringify(c.value) === JSON.stringify(parsed.value))) out.push({ ok: true, value: parsed.value, how: 'extracted' });
  }
  return out;
}

export function findJson(text: string): JsonFound {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'the answer is empty' };
  const direct = tryParse(trimmed);
  if (direct.ok) return { ok: true, value: direct.value, how: 'parsed' };

  const candidates: string[] = [];
  const fenced = FENCE.exec(trimmed);
  if (fenced?.[1]?.trim()) candidates.push(fenced[1].trim());
  const balanced = balancedSpan(trimmed);
  if (balanced) candidates.push(balanced);
  for (const candidate of candidates) {
    const parsed = tryParse(candidate);
    if (parsed.ok) return { ok: true, value: parsed.value, how: 'extracted' };
  }

  // Repair: the fenced body, else from the first bracket to the end (a truncated answer has no closing one).
  const start = firstBracket(trimmed);
  const repairable = [...candidates, ...(start >= 0 ? [trimmed.slice(start)] : []), trimmed];
  for (const candidate of repairable) {
    try {
      const repaired = jsonrepair(candidate);
      const parsed = tryParse(repaired);
      if (parsed.ok && (typeof parsed.value === 'object' || candidate !== trimmed)) return { ok: true, value: parsed.value, how: 'repaired' };
    } catch {
      // try the next candidate
    }
  }
  return { ok: false, reason: 'no JSON object or array could be found or repaired in the answer' };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function firstBracket(text: string): number {
  const brace = text.indexOf('{');
  const bracket = text.indexOf('[');
  if (brace < 0) return bracket;
  if (bracket < 0) return brace;
  return Math.min(brace, bracket);
}

/** The first balanced {...} or [...] span, skipping brackets inside strings. */
function balancedSpan(text: string): string | undefined {
  const start = firstBracket(text);
  if (start < 0) return undefined;
  const stack: string[] = [];
  let inString = false;
  let quote = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === quote) inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      quote = c;
    } else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return undefined;
      if (stack.length === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}
