import { z } from 'zod';
import { Tally } from '../budget/tally.js';
import { AgentInputError, formatIssues, ShoalConfigError, StructuredOutputError, toShoalError } from '../errors.js';
import type { CallOptions, CompletionResult } from '../executor/types.js';
import { type ParseStage, StructuredOutput, toJsonSchema, zodIssues } from '../structured/structured-output.js';
import { type Check, checkOptions, expectNumber, option } from '../util/options.js';
import { askAgainAlone } from './ask-again.js';
import { packedAnswers, packedPrefix, packedResponseSchema } from './packed-call.js';
import { reaskSuffix, renderInput, renderPacked, stablePrefix } from './prompt.js';
import { checkRunOptions } from './run-options.js';
import { RunSpend } from './run-spend.js';
import type { Agent, AgentConfig, AgentMetadata, AgentRunOptions, AgentRunResult, RunManyItem, RunManyOptions, RunManyResult } from './types.js';

/** Agent names: lower-case words joined by `-`, `_` or `.`; they key the registry and the cost ledger. */
export const AGENT_NAME = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/;

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

/**
 * Defines an agent: a name, zod schemas for its input and output, and instructions. Checks the config (and the examples against the schemas) at once:
 * `ShoalConfigError` when it is wrong.
 */
export function defineAgent<I extends z.ZodType, O extends z.ZodType>(config: AgentConfig<I, O>): Agent<I, O> {
  return new DefinedAgent(config);
}

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
  readonly #packedSchemas = new Map<number, Record<string, unknown>>();
  /** What every call asks for: the output's name and schema, made once (a provider remembers what it built per schema object). */
  #output: { name: string; schema: Record<string, unknown> } | undefined;
  #metadata: AgentMetadata | undefined;

  constructor(config: AgentConfig<I, O>) {
    if (typeof config !== 'object' || config === null) throw new ShoalConfigError('defineAgent() takes one options object.');
    checkOptions(`defineAgent(${typeof config.name === 'string' ? config.name : ''})`, config, CONFIG_OPTIONS);
    if (typeof config.name !== 'string' || !AGENT_NAME.test(config.name)) {
      throw new ShoalConfigError(
        `Agent name ${JSON.stringify(config.name)} is not valid: use lower-case letters and digits, words joined by "-", "_" or "." (e.g. "invoice-fields").`,
      );
    }
    const where = `agent \`${config.name}\``;
    if (typeof config.description !== 'string' || config.description.trim() === '')
      throw new ShoalConfigError(`${where} needs a one-sentence \`description\`.`);
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
    try {
      this.#structured = new StructuredOutput(config.output as z.ZodType<z.output<O>>);
    } catch (error) {
      if (ShoalConfigError.isInstance(error)) throw new ShoalConfigError(`defineAgent({ name: '${config.name}' }): ${error.message}`);
      throw error;
    }
    const examples = (config.examples ?? []).map((example, i) => {
      const input = config.input.safeParse(example.input);
      const output = config.output.safeParse(example.output);
      if (!input.success)
        throw new ShoalConfigError(`${where}: example ${i + 1}'s input does not match the input schema: ${formatIssues(zodIssues(input.error))}`);
      if (!output.success)
        throw new ShoalConfigError(`${where}: example ${i + 1}'s output does not match the output schema: ${formatIssues(zodIssues(output.error))}`);
      return { input: this.#render(input.data), output: example.output };
    });
    this.prefix = stablePrefix({ instructions: config.instructions, schemaText: this.#structured.jsonSchemaText, examples });
    this.#packedPrefix = packedPrefix(config.instructions, this.#structured.jsonSchema);
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
    const spend = new RunSpend(options.budgetUsd, options.executor, this.name, 'run');
    let ran: { output: z.output<O>; stage: ParseStage | 'reasked' };
    try {
      ran = await this.#runOne(parsed, options, spend);
    } catch (error) {
      // A throw of the agent's own code (a prompt function, a bug) is INTERNAL, as in runMany: never a bare error.
      throw toShoalError(error, `agent \`${this.name}\``);
    }
    const { output, stage } = ran;
    const { tally } = spend;
    const durationMs = performance.now() - started;
    return { output, usage: tally.usage(), costUsd: tally.costUsd, attempts: tally.calls, jobIds: spend.jobIds, durationMs, stage };
  }

  /** Starts one model call, the run's budget checked first; the caller books its result (`spend.add`). Not async: one promise per call, the executor's. */
  #call(prompt: string, options: AgentRunOptions, spend: RunSpend, output: { name: string; schema: Record<string, unknown> }): Promise<CompletionResult> {
    spend.check();
    // Built field by field: no object spread per call (this is every agent call's path).
    const callOptions: { -readonly [K in keyof CallOptions]: CallOptions[K] } = {
      priority: options.priority ?? this.#config.priority ?? 0,
      tags: options.tags ? [this.name, ...options.tags] : [this.name],
    };
    if (options.signal) callOptions.signal = options.signal;
    if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
    if (options.spanId !== undefined) callOptions.spanId = options.spanId;
    if (options.cache !== undefined) callOptions.cache = options.cache;
    const params = this.#config.params;
    return options.executor.complete(params ? { prompt, args: params, output } : { prompt, output }, callOptions);
  }

  async #runOne(input: z.output<I>, options: AgentRunOptions, spend: RunSpend): Promise<{ output: z.output<O>; stage: ParseStage | 'reasked' }> {
    const base = this.promptFor(input);
    // This input's own calls (the run's totals may include other inputs' calls, running beside it).
    const own = new Tally();
    let prompt = base;
    let lastText = '';
    let lastIssues: readonly { path: readonly (string | number)[]; message: string; code: string }[] = [];
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const result = await this.#call(prompt, options, spend, (this.#output ??= { name: this.#schemaName(), schema: this.#structured.jsonSchema }));
      spend.add(result);
      own.add({ usage: result.usage, costUsd: result.costUsd });
      const answer = this.#structured.parse(result.text);
      if (answer.ok) return { output: answer.value, stage: attempt === 1 ? answer.stage : 'reasked' };
      lastText = result.text;
      lastIssues = answer.issues;
      prompt = base + reaskSuffix(result.text, formatIssues(answer.issues, 10));
    }
    throw new StructuredOutputError(this.name, lastText, lastIssues, own.calls, { usage: own.usage(), costUsd: own.costUsd });
  }

  /**
   * The packed answer's schema for a group of this size (its ids are always 1..n): made once per size, so a provider
   * that remembers a schema its server refused (sent by prompt from then on) remembers it for every packed call.
   */
  #packedSchema(ids: readonly string[]): Record<string, unknown> {
    let schema = this.#packedSchemas.get(ids.length);
    if (!schema) this.#packedSchemas.set(ids.length, (schema = packedResponseSchema(this.#structured.jsonSchema, ids)));
    return schema;
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
    const spend = new RunSpend(options.budgetUsd, options.executor, this.name, 'runMany');
    const items: RunManyItem<z.output<O>>[] = new Array(inputs.length);
    const valid: { index: number; input: z.output<I> }[] = [];
    inputs.forEach((raw, index) => {
      const parsed = this.input.safeParse(raw);
      if (parsed.success) valid.push({ index, input: parsed.data });
      else items[index] = { ok: false, error: new AgentInputError(this.name, zodIssues(parsed.error)) };
    });
    let done = inputs.length - valid.length;
    const progressed = (settled: number) => {
      done += settled;
      options.onProgress?.({ done, total: inputs.length, calls: spend.tally.calls, costUsd: spend.tally.costUsd });
    };
    const single = async ({ index, input }: { index: number; input: z.output<I> }) => {
      try {
        const { output, stage } = await this.#runOne(input, options, spend);
        items[index] = { ok: true, output, stage };
      } catch (error) {
        items[index] = { ok: false, error: toShoalError(error, `agent \`${this.name}\``) };
      }
      progressed(1);
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
          progressed(group.length - leftovers.length);
          await Promise.all(leftovers.map(single));
        }),
      );
    }
    const { tally } = spend;
    return { items, usage: tally.usage(), costUsd: tally.costUsd, calls: tally.calls, packedCalls, durationMs: performance.now() - started };
  }

  /** One call for a group; fills `items` for every answer that is there and valid, returns the rest to be run alone. */
  async #runPacked(group: { index: number; input: z.output<I> }[], options: AgentRunOptions, spend: RunSpend, items: RunManyItem<z.output<O>>[]) {
    // Ids are short and local to the call; answers are matched by id, never by position.
    const ids = group.map((_, i) => String(i + 1));
    const byId = new Map(group.map((member, i) => [ids[i]!, member]));
    const body = renderPacked(group.map((member, i) => ({ id: ids[i]!, input: this.#render(member.input) })));
    let text: string;
    try {
      const output = { name: this.#schemaName(true), schema: this.#packedSchema(ids) };
      const result = await this.#call(this.#packedPrefix + body, options, spend, output);
      spend.add(result);
      text = result.text;
    } catch (error) {
      const shoal = toShoalError(error, `agent \`${this.name}\``);
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
    for (const [id, value] of packedAnswers(text)) {
      const member = byId.get(id);
      if (!member || items[member.index] !== undefined) continue; // an invented id, or a repeat: the first valid answer wins
      const answer = this.#structured.validate(value);
      if (answer.ok) items[member.index] = { ok: true, output: answer.value, stage: 'packed' };
    }
    return group.filter((member) => items[member.index] === undefined);
  }
}
