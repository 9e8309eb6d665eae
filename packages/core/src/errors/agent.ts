import { formatIssues, formatPlanIssues, type PlanIssue, type ValidationIssue } from './issues.js';
import { codeGuard, ShoalError, type ShoalErrorOptions } from './shoal-error.js';

/** The ways an agent call or a coordinated run fails: its input, the model's answer, the plan, a step. */

/** An agent's input did not match its schema. Thrown before any request: nothing was spent. Fault: `caller`. */
export class AgentInputError extends ShoalError {
  /** The agent's name. */
  readonly agentName: string;
  /** Where the input missed the agent's input schema. */
  readonly issues: readonly ValidationIssue[];
  constructor(agentName: string, issues: readonly ValidationIssue[]) {
    super('AGENT_INPUT_INVALID', `Input for agent \`${agentName}\` does not match its schema (nothing was sent): ${formatIssues(issues)}`, false);
    this.agentName = agentName;
    this.issues = issues;
  }
  static override isInstance = codeGuard<AgentInputError>('AGENT_INPUT_INVALID');
}

/** The model's answer did not fit the output schema after every allowed attempt. Fault: `model`. */
export class StructuredOutputError extends ShoalError {
  /** The agent's name. */
  readonly agentName: string;
  /** The last raw answer. */
  readonly text: string;
  /** Where the last answer missed the output schema. */
  readonly issues: readonly ValidationIssue[];
  /** Model calls made for this input. */
  readonly attempts: number;
  /** Tokens and USD those calls spent (they were paid for, though their answers were not usable). */
  readonly usage: {
    /** Input tokens, the cached ones included. */
    readonly inputTokens: number;
    /** Input tokens served from the provider's prefix cache (a subset of `inputTokens`). */
    readonly cachedInputTokens: number;
    /** Output tokens. */
    readonly outputTokens: number;
  };
  /** What those calls cost, in USD. */
  readonly costUsd: number;
  constructor(
    agentName: string,
    text: string,
    issues: readonly ValidationIssue[],
    attempts: number,
    options: ShoalErrorOptions & { readonly usage?: StructuredOutputError['usage']; readonly costUsd?: number } = {},
  ) {
    super(
      'STRUCTURED_OUTPUT_INVALID',
      `Agent \`${agentName}\`: the model's answer did not fit the output schema after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${formatIssues(issues)}`,
      false,
      options,
    );
    this.agentName = agentName;
    this.text = text;
    this.issues = issues;
    this.attempts = attempts;
    this.usage = options.usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 };
    this.costUsd = options.costUsd ?? 0;
  }
  static override isInstance = codeGuard<StructuredOutputError>('STRUCTURED_OUTPUT_INVALID');
}

/**
 * The planner could not produce a valid plan within its attempts, or a plan you gave
 * (attempts 0) is not valid; no step ran. Fault: `model` for the planner's plan, `caller`
 * for yours.
 */
export class PlanError extends ShoalError {
  /** What is wrong with the plan. */
  readonly issues: readonly PlanIssue[];
  /** The last plan the planner proposed (as parsed), if any. */
  readonly plan: unknown;
  /** The planner's attempts; 0 for a plan you gave. */
  readonly attempts: number;
  constructor(issues: readonly PlanIssue[], plan: unknown, attempts: number) {
    super(
      'PLAN_INVALID',
      `${attempts === 0 ? 'The plan is not valid' : `No valid plan after ${attempts} attempt${attempts === 1 ? '' : 's'}`}: ${formatPlanIssues(issues)}. ${
        attempts === 0
          ? 'Fix what is named above and pass the plan to execute() again.'
          : "What to try: pass a plan of your own to coordinator.execute(plan) (error.plan holds the planner's last one, to start from); or word the task so that it names the agents to use and what each step reads; or allow more tries with createCoordinator({ planAttempts })."
      }`,
      false,
      {
        fault: attempts === 0 ? 'caller' : 'model',
      },
    );
    this.issues = issues;
    this.plan = plan;
    this.attempts = attempts;
  }
  static override isInstance = codeGuard<PlanError>('PLAN_INVALID');
}

/**
 * A step failed under the `fail` policy (or a final output did not fit): the run stopped.
 * `cause` is the step's error. Fault: the step error's, `model` when it is not a shoal
 * error (a final output that does not fit the run's schema).
 */
export class StepFailedError extends ShoalError {
  /** The id of the step that failed (or of the final step, when its output did not fit the run's schema). */
  readonly step: string;
  /** Outputs of the steps that finished before the failure. */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** What the run had spent when it stopped, in USD. */
  readonly spentUsd: number;
  constructor(step: string, cause: unknown, outputs: Readonly<Record<string, unknown>>, spentUsd: number) {
    super('STEP_FAILED', `Step \`${step}\` failed, so the run stopped: ${cause instanceof Error ? cause.message : String(cause)}`, false, {
      cause,
      ...(ShoalError.isInstance(cause) ? { fault: cause.fault } : {}),
    });
    this.step = step;
    this.outputs = outputs;
    this.spentUsd = spentUsd;
  }
  static override isInstance = codeGuard<StepFailedError>('STEP_FAILED');
}
