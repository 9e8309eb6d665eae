import type { z } from 'zod';
import type { ShoalError } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import type { Usage } from '../providers/types.js';
import type { ParseStage } from '../structured/structured-output.js';

/** The agent API's types: an agent's definition, its run options and results. */

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
  /** Called each time inputs are settled (answered or failed), with the run's figures so far. */
  readonly onProgress?: (progress: RunManyProgress) => void;
}

/** How far a `runMany` (or a `classify`) has come. */
export interface RunManyProgress {
  /** Inputs settled: answered or failed, bad input included. */
  readonly done: number;
  readonly total: number;
  /** Model calls made so far (re-asks included). */
  readonly calls: number;
  readonly costUsd: number;
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
