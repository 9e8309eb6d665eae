import { z } from 'zod';
import { AgentInputError, BudgetExceededError, ShoalConfigError, ShoalError, StructuredOutputError, formatIssues } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import type { Usage } from '../providers/types.js';
import { findJson } from '../structured/extract-json.js';
import { type ParseStage, StructuredOutput, toJsonSchema, zodIssues } from '../structured/structured-output.js';
import { type Check, checkOptions, expectNumber, isPlainObject, option } from '../util/options.js';
import { picoToUsd, usdToPico } from '../util/money.js';
import { askAgainAlone } from './ask-again.js';
import { PACK_INSTRUCTIONS, reaskSuffix, renderInput, renderPacked, stablePrefix } from './prompt.js';

/** Agent names: lower-case words joined by `-`, `_` or `.`; they key the registry and the cost ledger. */
export const AGENT_NAME = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/;

export interface AgentExample<I, O> {
  readonly input: I;
  readonly output: O;
}

export interface AgentConfig<I extends z.ZodType, O extends z.ZodType> {
  /** Unique name, e.g. `sentiment` or `acme.invoice-fields`. */
  readonly name: string;
  /** One sentence: what the agent does (a coordinator's planner reads it). */
  readonly description: string;
  readonly input: I;
  readonly output: O;
  /** What the model should do. The output's JSON Schema is added for you. */
  readonly instructions: string;
  /** Renders the (parsed) input as the variable end of the prompt. @default its JSON, fenced */
  readonly prompt?: (input: z.output<I>) => string;
  /** Worked examples, shown after the schema (checked against both schemas at definition). */
  readonly examples?: readonly AgentExample<z.input<I>, z.output<O>>[];
  /** Default call priority. @default 0 */
  readonly priority?: number;
  /** Model args sent with every call (e.g. `{ temperature: 0 }`). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Model calls per input, the first included: a failed parse is re-asked with the issues stated. @default 2 */
  readonly maxAttempts?: number;
}

export interface AgentRunOptions {
  /** The shared executor every call goes through. */
  readonly executor: Executor;
  readonly priority?: number;
  readonly signal?: AbortSignal;
  /** Stop this run (no further model call) once it has spent this much. */
  readonly budgetUsd?: number;
  /** Extra cost-ledger tags; the agent's name is always one. */
  readonly tags?: readonly string[];
  /** Per model call, queue wait included. */
  readonly timeoutMs?: number;
  /** A trace span id echoed on every executor event of this run's calls. */
  readonly spanId?: string;
  /**
   * The executor's result cache for this run's calls: `'refresh'` asks again rather than
   * read it (retrying after an unreadable answer, which the cache would only hand back).
   * @default true
   */
  readonly cache?: boolean | 'refresh';
}

export interface AgentRunResult<O> {
  readonly output: O;
  readonly usage: Usage;
  readonly costUsd: number;
  /** Model calls made (1 unless re-asked). */
  readonly attempts: number;
  readonly jobIds: readonly string[];
  readonly durationMs: number;
  /** How the answer was read: straight JSON, found in prose or a fence, repaired, schema-coerced, or after a re-ask. */
  readonly stage: ParseStage | 'reasked';
}

export interface RunManyOptions extends AgentRunOptions {
  /** Up to this many inputs go into one model call, each with an id. @default 1 (one call per input) */
  readonly pack?: number;
}

export type RunManyItem<O> =
  | { readonly ok: true; readonly output: O; readonly stage: ParseStage | 'reasked' | 'packed' }
  | { readonly ok: false; readonly error: ShoalError };

export interface RunManyResult<O> {
  /** One per input, in input order. */
  readonly items: readonly RunManyItem<O>[];
  readonly usage: Usage;
  readonly costUsd: number;
  /** Model calls made: packed calls, plus single calls for items a packed answer missed or got wrong. */
  readonly calls: number;
  readonly packedCalls: number;
  readonly durationMs: number;
}

/** What a registry and a coordinator's planner can read about an agent. */
export interface AgentMetadata {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema: Record<string, unknown>;
}

export interface Agent<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly kind: 'shoal.agent';
  readonly name: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  /** The byte-for-byte stable start of every prompt of this agent. */
  readonly prefix: string;
  /** The full prompt for one (already parsed) input. */
  promptFor(input: z.output<I>): string;
  run(input: z.input<I>, options: AgentRunOptions): Promise<AgentRunResult<z.output<O>>>;
  runMany(inputs: readonly z.input<I>[], options: RunManyOptions): Promise<RunManyResult<z.output<O>>>;
  metadata(): AgentMetadata;
}

export type InferAgentInput<A> = A extends Agent<infer I, z.ZodType> ? z.input<I> : never;
export type InferAgentOutput<A> = A extends Agent<z.ZodType, infer O> ? z.output<O> : never;

const CONFIG_OPTIONS = {
  // name, description, input, output, instructions and maxAttempts: checked in the constructor, in the agent's words.
  name: option.any(),
  description: option.any(),
  input: option.any(),
  output: option.any(),
  instructions: option.any(),
  prompt: option.function('a function from the parsed input to the text of the prompt'),
  examples: option.array('an array of { input, output } examples'),
  priority: option.number(),
  params: option.plainObject('an object of model arguments sent with every call, such as { temperature: 0 }'),
  maxAttempts: option.any(),
} satisfies Record<keyof AgentConfig<z.ZodType, z.ZodType>, Check>;

export function defineAgent<I extends z.ZodType, O extends z.ZodType>(config: AgentConfig<I, O>): Agent<I, O> {
  return new DefinedAgent(config);
}

/** Running totals of one run (or one runMany), shared by its calls. */
class Spend {
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  calls = 0;
  /** Summed in the ledger's integer unit: float sums of small amounts drift (0.000097 + 0.000097 is not 0.000194). */
  #pico = 0n;
  readonly jobIds: string[] = [];
  constructor(readonly budgetUsd: number | undefined) {}

  check(): void {
    if (this.budgetUsd !== undefined && this.costUsd >= this.budgetUsd) throw new BudgetExceededError(this.budgetUsd, this.costUsd);
  }

  get costUsd(): number {
    return picoToUsd(this.#pico);
  }

  add(usage: Usage, costUsd: number, jobId: string | undefined): void {
    this.inputTokens += usage.inputTokens;
    this.cachedInputTokens += usage.cachedInputTokens;
    this.outputTokens += usage.outputTokens;
    this.#pico += usdToPico(costUsd) ?? 0n;
    this.calls++;
    if (jobId) this.jobIds.push(jobId);
  }

  usage(): Usage {
    return { inputTokens: this.inputTokens, cachedInputTokens: this.cachedInputTokens, outputTokens: this.outputTokens };
  }
}

const packedItem = z.object({ id: z.union([z.string(), z.number()]).transform(String), output: z.unknown() });

class DefinedAgent<I extends z.ZodType, O extends z.ZodType> implements Agent<I, O> {
  readonly kind = 'shoal.agent' as const;
  readonly name: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  readonly prefix: string;
  readonly #config: AgentConfig<I, O>;
  readonly #structured: StructuredOutput<z.output<O>>;
  readonly #maxAttempts: number;
  readonly #packedPrefix: string;
  readonly #packedSchema: Record<string, unknown>;
  #metadata: AgentMetadata | undefined;

  constructor(config: AgentConfig<I, O>) {
    if (typeof config !== 'object' || config === null) throw new ShoalConfigError('defineAgent() takes one options object.');
    checkOptions(`defineAgent(${typeof config.name === 'string' ? config.name : ''})`, config, CONFIG_OPTIONS);
    if (typeof config.name !== 'string' || !AGENT_NAME.test(config.name)) {
      throw new ShoalConfigError(`Agent name ${JSON.stringify(config.name)} is not valid: use lower-case letters and digits, words joined by "-", "_" or "." (e.g. "invoice-fields").`);
    }
    const where = `agent \`${config.name}\``;
    if (typeof config.description !== 'string' || config.description.trim() === '') throw new ShoalConfigError(`${where} needs a one-sentence \`description\`.`);
    if (typeof config.instructions !== 'string' || config.instructions.trim() === '') throw new ShoalConfigError(`${where} needs \`instructions\`.`);
    for (const key of ['input', 'output'] as const) {
      if (!(config[key] instanceof z.ZodType)) throw new ShoalConfigError(`${where}: \`${key}\` must be a zod (v4) schema.`);
    }
    this.name = config.name;
    this.description = config.description;
    this.input = config.input;
    this.output = config.output;
    this.#config = config;
    this.#maxAttempts = expectNumber(`${config.name}.maxAttempts`, config.maxAttempts ?? 2, { min: 1, integer: true });
    this.#structured = new StructuredOutput(config.output as z.ZodType<z.output<O>>);
    const examples = (config.examples ?? []).map((example, i) => {
      const input = config.input.safeParse(example.input);
      const output = config.output.safeParse(example.output);
      if (!input.success) throw new ShoalConfigError(`${where}: example ${i + 1}'s input does not match the input schema: ${formatIssues(zodIssues(input.error))}`);
      if (!output.success) throw new ShoalConfigError(`${where}: example ${i + 1}'s output does not match the output schema: ${formatIssues(zodIssues(output.error))}`);
      return { input: this.#render(input.data), output: example.output };
    });
    this.prefix = stablePrefix({ instructions: config.instructions, schemaText: this.#structured.jsonSchemaText, examples });
    // In the prompt: one compact schema for any group size (the prefix stays byte-for-byte stable).
    this.#packedSchema = { type: 'object', additionalProperties: this.#structured.jsonSchema };
    this.#packedPrefix = stablePrefix({
      instructions: `${config.instructions.trim()}\n\n${PACK_INSTRUCTIONS}`,
      schemaText: JSON.stringify(this.#packedSchema),
      examples: [],
    });
  }

  #render(input: unknown): string | unknown {
    return this.#config.prompt ? this.#config.prompt(input as z.output<I>) : input;
  }

  promptFor(input: z.output<I>): string {
    return this.prefix + (this.#config.prompt ? this.#config.prompt(input) : renderInput(input));
  }

  metadata(): AgentMetadata {
    this.#metadata ??= {
      name: this.name,
      description: this.description,
      inputSchema: toJsonSchema(this.input, 'input'),
      outputSchema: this.#structured.jsonSchema,
    };
    return this.#metadata;
  }

  #parseInput(input: unknown): z.output<I> {
    const parsed = this.input.safeParse(input);
    if (!parsed.success) throw new AgentInputError(this.name, zodIssues(parsed.error));
    return parsed.data;
  }

  async run(input: z.input<I>, options: AgentRunOptions): Promise<AgentRunResult<z.output<O>>> {
    const started = performance.now();
    const parsed = this.#parseInput(input);
    checkRunOptions(this.name, options, 'run');
    const spend = new Spend(options.budgetUsd);
    const { output, stage } = await this.#runOne(parsed, options, spend);
    return { output, usage: spend.usage(), costUsd: spend.costUsd, attempts: spend.calls, jobIds: spend.jobIds, durationMs: performance.now() - started, stage };
  }

  async #call(prompt: string, options: AgentRunOptions, spend: Spend, output: { name: string; schema: Record<string, unknown> }) {
    spend.check();
    const result = await options.executor.complete(
      { prompt, ...(this.#config.params ? { args: this.#config.params } : {}), output },
      {
        priority: options.priority ?? this.#config.priority ?? 0,
        tags: options.tags ? [this.name, ...options.tags] : [this.name],
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.spanId !== undefined ? { spanId: options.spanId } : {}),
        ...(options.cache !== undefined ? { cache: options.cache } : {}),
      },
    );
    spend.add(result.usage, result.costUsd, result.jobId);
    return result;
  }

  async #runOne(input: z.output<I>, options: AgentRunOptions, spend: Spend): Promise<{ output: z.output<O>; stage: ParseStage | 'reasked' }> {
    const base = this.promptFor(input);
    // This input's own calls (the run's totals may include other inputs' calls, running beside it).
    const own = new Spend(undefined);
    let prompt = base;
    let lastText = '';
    let lastIssues: readonly { path: readonly (string | number)[]; message: string; code: string }[] = [];
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const result = await this.#call(prompt, options, spend, { name: this.#schemaName(), schema: this.#structured.jsonSchema });
      own.add(result.usage, result.costUsd, undefined);
      const answer = this.#structured.parse(result.text);
      if (answer.ok) return { output: answer.value, stage: attempt === 1 ? answer.stage : 'reasked' };
      lastText = result.text;
      lastIssues = answer.issues;
      prompt = base + reaskSuffix(result.text, formatIssues(answer.issues, 10));
    }
    throw new StructuredOutputError(this.name, lastText, lastIssues, own.calls, { usage: own.usage(), costUsd: own.costUsd });
  }

  #schemaName(packed = false): string {
    // OpenAI-style names: letters, digits, _ and -, up to 64.
    return `${this.name.replace(/[^a-zA-Z0-9_-]/g, '_')}${packed ? '_batch' : ''}`.slice(0, 64);
  }

  async runMany(inputs: readonly z.input<I>[], options: RunManyOptions): Promise<RunManyResult<z.output<O>>> {
    const started = performance.now();
    checkRunOptions(this.name, options);
    if (!Array.isArray(inputs)) throw new ShoalConfigError(`${this.name}.runMany() takes an array of inputs.`);
    const pack = expectNumber('pack', options.pack ?? 1, { min: 1, integer: true });
    const spend = new Spend(options.budgetUsd);
    const items: RunManyItem<z.output<O>>[] = new Array(inputs.length);
    const valid: { index: number; input: z.output<I> }[] = [];
    inputs.forEach((raw, index) => {
      const parsed = this.input.safeParse(raw);
      if (parsed.success) valid.push({ index, input: parsed.data });
      else items[index] = { ok: false, error: new AgentInputError(this.name, zodIssues(parsed.error)) };
    });
    const single = async ({ index, input }: { index: number; input: z.output<I> }) => {
      try {
        const { output, stage } = await this.#runOne(input, options, spend);
        items[index] = { ok: true, output, stage };
      } catch (error) {
        items[index] = { ok: false, error: asShoalError(error) };
      }
    };
    let packedCalls = 0;
    if (pack === 1) {
      await Promise.all(valid.map(single));
    } else {
      const groups: (typeof valid)[] = [];
      for (let i = 0; i < valid.length; i += pack) groups.push(valid.slice(i, i + pack));
      await Promise.all(
        groups.map(async (group) => {
          if (group.length === 1) return single(group[0]!);
          packedCalls++;
          const leftovers = await this.#runPacked(group, options, spend, items);
          await Promise.all(leftovers.map(single));
        }),
      );
    }
    return { items, usage: spend.usage(), costUsd: spend.costUsd, calls: spend.calls, packedCalls, durationMs: performance.now() - started };
  }

  /**
   * The schema sent as `response_format` for a packed call of `ids`: every id a required
   * property, so strict structured output can enforce the whole answer.
   */
  #packedResponseSchema(ids: readonly string[]): Record<string, unknown> {
    // The answer schema's own $defs move up to the root, where its "#/$defs/..." references resolve.
    const { $defs, ...answer } = this.#structured.jsonSchema as { $defs?: Record<string, unknown> };
    return {
      type: 'object',
      $defs: { ...$defs, answer },
      properties: Object.fromEntries(ids.map((id) => [id, { $ref: '#/$defs/answer' }])),
      required: [...ids],
      additionalProperties: false,
    };
  }

  /** One call for a group; fills `items` for every answer that is there and valid, returns the rest to be run alone. */
  async #runPacked(group: { index: number; input: z.output<I> }[], options: AgentRunOptions, spend: Spend, items: RunManyItem<z.output<O>>[]) {
    // Ids are short and local to the call; answers are matched by id, never by position.
    const ids = group.map((_, i) => String(i + 1));
    const byId = new Map(group.map((member, i) => [ids[i]!, member]));
    const body = renderPacked(group.map((member, i) => ({ id: ids[i]!, input: this.#render(member.input) })));
    let text: string;
    try {
      text = (await this.#call(this.#packedPrefix + body, options, spend, { name: this.#schemaName(true), schema: this.#packedResponseSchema(ids) })).text;
    } catch (error) {
      const shoal = asShoalError(error);
      // Asked again item by item only when the packed call provably got no answer that may
      // still exist and be paid for: a create that was refused (429, 5xx, not sent) or a job
      // that failed. A lost create answer, a timeout or a job left running may hold the
      // answer, paid for: each item fails with that error (a rerun of the same group
      // re-attaches to the job in this process). Budget and cancellation end the group too.
      if (!askAgainAlone(shoal)) {
        for (const member of group) items[member.index] = { ok: false, error: shoal };
        return [];
      }
      return group;
    }
    const found = findJson(text);
    if (found.ok && typeof found.value === 'object' && found.value !== null) {
      // The asked-for object keyed by id; an array of {id, output} is accepted too.
      const entries: [string, unknown][] = Array.isArray(found.value)
        ? found.value.flatMap((raw) => {
            const item = packedItem.safeParse(raw);
            return item.success ? [[item.data.id, item.data.output] as [string, unknown]] : [];
          })
        : Object.entries(found.value as Record<string, unknown>);
      for (const [id, value] of entries) {
        const member = byId.get(id);
        if (!member || items[member.index] !== undefined) continue; // an invented id, or a repeat: the first valid answer wins
        const answer = this.#structured.validate(value);
        if (answer.ok) items[member.index] = { ok: true, output: answer.value, stage: 'packed' };
      }
    }
    return group.filter((member) => items[member.index] === undefined);
  }
}

const RUN_OPTIONS = {
  executor: option.any(),
  priority: option.number(),
  signal: option.signal(),
  budgetUsd: option.number({ min: 0 }),
  tags: option.stringArray(),
  timeoutMs: option.number({ min: 1, allowInfinity: true, note: 'Infinity for none' }),
  spanId: option.string(),
  cache: option.oneOf([true, false, 'refresh'] as const),
} satisfies Record<keyof AgentRunOptions, Check>;
const RUN_MANY_OPTIONS = { ...RUN_OPTIONS, pack: option.number({ min: 1, integer: true }) } satisfies Record<keyof RunManyOptions, Check>;

/** Checks run() or runMany() options (unknown keys, types, ranges) before anything is sent. */
function checkRunOptions(agentName: string, options: AgentRunOptions | undefined, method: 'run' | 'runMany' = 'runMany'): void {
  const needsExecutor = () => new ShoalConfigError(`${agentName}.${method}() needs { executor }: create one with createExecutor({ provider }) and pass it.`);
  if (!isPlainObject(options)) throw needsExecutor();
  checkOptions(`${agentName}.${method}()`, options, method === 'run' ? RUN_OPTIONS : RUN_MANY_OPTIONS);
  if (typeof options.executor?.complete !== 'function') throw needsExecutor();
}

function asShoalError(error: unknown): ShoalError {
  if (ShoalError.isInstance(error)) return error;
  return new ShoalError('API_ERROR', error instanceof Error ? error.message : String(error), false, { cause: error });
}
