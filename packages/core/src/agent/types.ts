import type { z } from 'zod';
import type { ShoalError } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import type { Usage } from '../providers/types.js';
import type { ParseStage } from '../structured/structured-output.js';

/** The agent API's types: an agent's definition, its run options and results. */

/** A worked example for an agent's prompt: an input and the output it should give. */
export interface AgentExample<I, O> {
  /** The example's input. */
  readonly input: I;
  /** The output the model should give for it. */
  readonly output: O;
}

/** What `defineAgent()` takes. */
export interface AgentConfig<I extends z.ZodType, O extends z.ZodType> {
  /** Unique name, e.g. `sentiment` or `acme.invoice-fields`. */
  readonly name: string;
  /** One sentence: what the agent does (a coordinator's planner reads it). */
  readonly description: string;
  /** The input's zod schema: every input is checked against it before any call. */
  readonly input: I;
  /** The output's zod schema: the model is asked for its JSON Schema, and every answer is checked against it. */
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

/** Options of `agent.run()` (and, with more, of `agent.runMany()`). */
export interface AgentRunOptions {
  /** The shared executor every call goes through. */
  readonly executor: Executor;
  /** Call priority of this run's calls. @default the agent's `priority` */
  readonly priority?: number;
  /** Stops the run's calls (see the executor's `signal`). */
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

/** What `agent.run()` resolves with. */
export interface AgentRunResult<O> {
  /** The parsed output, valid against the agent's output schema. */
  readonly output: O;
  /** Tokens the run's calls used. */
  readonly usage: Usage;
  /** What the run's calls cost, in USD. */
  readonly costUsd: number;
  /** Model calls made (1 unless re-asked). */
  readonly attempts: number;
  /** The server's job ids of the run's calls (for providers with jobs). */
  readonly jobIds: readonly string[];
  /** Wall time of the run. */
  readonly durationMs: number;
  /** How the answer was read: straight JSON, found in prose or a fence, repaired, schema-coerced, or after a re-ask. */
  readonly stage: ParseStage | 'reasked';
}

/** Options of `agent.runMany()`. */
export interface RunManyOptions extends AgentRunOptions {
  /** Up to this many inputs go into one model call, each with an id. @default 1 (one call per input) */
  readonly pack?: number;
  /** Called each time inputs are settled (answered or failed), with the run's figures so far. */
  readonly onProgress?: (progress: RunManyProgress) => void;
}

/** How far a `runMany` (or a `classify`) has come. */
export interface RunManyProgress {
  /** Inputs settled: answered or failed, bad input included. */
  readonly done: number;
  /** Inputs in all. */
  readonly total: number;
  /** Model calls made so far (re-asks included). */
  readonly calls: number;
  /** What the run has spent so far, in USD. */
  readonly costUsd: number;
}

/** One input's outcome in a `runMany()` result. */
export type RunManyItem<O> =
  | {
      /** The input was answered. */
      readonly ok: true;
      /** The parsed output. */
      readonly output: O;
      /** How the answer was read, as `AgentRunResult.stage`; `packed` for an answer taken from a packed call. */
      readonly stage: ParseStage | 'reasked' | 'packed';
    }
  | {
      /** The input failed. */
      readonly ok: false;
      /** Why: a bad input (`AgentInputError`), an answer that did not fit, or the call's error. */
      readonly error: ShoalError;
    };

/** What `agent.runMany()` resolves with: one item per input (a failed input does not fail the others), and the totals. */
export interface RunManyResult<O> {
  /** One per input, in input order. */
  readonly items: readonly RunManyItem<O>[];
  /** Tokens the run's calls used. */
  readonly usage: Usage;
  /** What the run's calls cost, in USD. */
  readonly costUsd: number;
  /** Model calls made: packed calls, plus single calls for items a packed answer missed or got wrong. */
  readonly calls: number;
  /** Calls that carried more than one input (`pack`). */
  readonly packedCalls: number;
  /** Wall time of the run. */
  readonly durationMs: number;
}

/** What a registry and a coordinator's planner can read about an agent. */
export interface AgentMetadata {
  /** The agent's name. */
  readonly name: string;
  /** What the agent does, in one sentence. */
  readonly description: string;
  /** The JSON Schema of the agent's input. */
  readonly inputSchema: Record<string, unknown>;
  /** The JSON Schema of the agent's output. */
  readonly outputSchema: Record<string, unknown>;
}

/** An agent made by `defineAgent()`: a typed input, a typed output, and the prompt between them. */
export interface Agent<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** Marks a value made by `defineAgent()`: registries and plugins take only these. */
  readonly kind: 'shoal.agent';
  /** The agent's name. */
  readonly name: string;
  /** What the agent does, in one sentence. */
  readonly description: string;
  /** The input's zod schema. */
  readonly input: I;
  /** The output's zod schema. */
  readonly output: O;
  /** The byte-for-byte stable start of every prompt of this agent. */
  readonly prefix: string;
  /** The full prompt for one (already parsed) input. */
  promptFor(input: z.output<I>): string;
  /**
   * Runs one input: checks it (`AgentInputError`), asks the model, checks the answer, and asks again with the issues stated while attempts are left
   * (`StructuredOutputError` after the last).
   */
  run(input: z.input<I>, options: AgentRunOptions): Promise<AgentRunResult<z.output<O>>>;
  /** Runs many inputs, one call each or several to a call (`pack`); each input's outcome is its own item. */
  runMany(inputs: readonly z.input<I>[], options: RunManyOptions): Promise<RunManyResult<z.output<O>>>;
  /** The agent's name, description and JSON Schemas, for registries and planners. */
  metadata(): AgentMetadata;
}

/** The input type an agent takes (before its schema's parsing). */
export type InferAgentInput<A> = A extends Agent<infer I, z.ZodType> ? z.input<I> : never;
/** The output type an agent gives (after its schema's parsing). */
export type InferAgentOutput<A> = A extends Agent<z.ZodType, infer O> ? z.output<O> : never;
