/**
 * Prompt layout, built for the provider's prefix cache: everything that is the same on
 * every call of an agent (instructions, the output's JSON Schema, examples) comes first,
 * byte for byte identical; the variable input comes last. Repairs (a re-ask) are appended
 * after the input, so even they share the prefix.
 */
export interface PromptParts {
  readonly instructions: string;
  readonly schemaText: string;
  readonly examples: readonly { readonly input: unknown; readonly output: unknown }[];
}

const fence = (json: string) => `\`\`\`json\n${json}\n\`\`\``;

export function stablePrefix(parts: PromptParts): string {
  const sections = [
    parts.instructions.trim(),
    `Answer with one JSON value that matches this JSON Schema. Reply with the JSON only, no prose.\n\n${fence(parts.schemaText)}`,
  ];
  if (parts.examples.length > 0) {
    sections.push(
      `# Examples\n\n${parts.examples
        .map((e, i) => `Example ${i + 1} input:\n${fence(JSON.stringify(e.input))}\nExample ${i + 1} output:\n${fence(JSON.stringify(e.output))}`)
        .join('\n\n')}`,
    );
  }
  return `${sections.join('\n\n')}\n\n# Input\n\n`;
}

/** The default rendering of an input: its JSON, compact (every token is paid for), fenced. */
export function renderInput(input: unknown): string {
  return fence(JSON.stringify(input));
}

/** A packed call's inputs: one JSON object keyed by id, one compact line per input. */
export function renderPacked(entries: readonly { readonly id: string; readonly input: unknown }[]): string {
  return fence(`{\n${entries.map((e) => `${JSON.stringify(e.id)}: ${JSON.stringify(e.input)}`).join(',\n')}\n}`);
}

export function reaskSuffix(previousAnswer: string, issues: string): string {
  const shown = previousAnswer.length > 4000 ? `${previousAnswer.slice(0, 4000)}\n…(cut)` : previousAnswer;
  return `\n\n# Your previous answer\n\n\`\`\`\n${shown}\n\`\`\`\n\nIt does not match the schema: ${issues}\nReply again with only the corrected JSON.`;
}

/**
 * Instructions added for a packed call: many inputs keyed by id, one answer object keyed
 * by the same ids. (An object keyed by id costs about 2 output tokens per item; an array
 * of {"id", "output"} items about 8, which ate most of the saving: see docs/decisions.)
 */
export const PACK_INSTRUCTIONS =
  'You will receive several inputs in one JSON object, keyed by id. Handle each input on its own, as the instructions above say, and answer with one JSON object that maps every id to its answer: {"<id>": <answer>, ...}. Copy the ids exactly; answer every id once.';
