import type { z } from 'zod';
import { endsTheWork, mayRetryStep } from '../agent/ask-again.js';
import type { Agent } from '../agent/types.js';
import { formatIssues, ShoalError, StepFailedError, StructuredOutputError, toShoalError } from '../errors.js';
import { zodIssues } from '../structured/structured-output.js';
import { describeError } from '../telemetry/tracer.js';
import type { PlanStep, ValidatedPlan } from './plan.js';
import { resolveInput, resolveReference } from './plan-paths.js';
import type { RunContext } from './run-context.js';
import type { RunOptions, RunResult } from './types.js';

type Policy = 'retry' | 'skip' | 'fail';

/**
 * Runs a checked plan: every step starts as soon as the steps it reads have ended, earlier
 * stages at a higher priority. The first failure (past its step's policy) cancels every
 * sub-call of the run still queued or running; the run ends after them.
 */
export async function runPlan<O extends z.ZodType>(
  validated: ValidatedPlan,
  options: RunOptions<O>,
  context: RunContext,
  lookup: (name: string) => Agent | undefined,
): Promise<RunResult<z.output<O>>> {
  const { plan, order, dependencies, depth } = validated;
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const maxDepth = Math.max(...depth.values());
  const outputs = new Map<string, unknown>();
  const finished = new Map<string, Promise<void>>();
  const snapshot = () => Object.fromEntries(outputs);
  for (const id of order) {
    const step = byId.get(id)!;
    const deps = [...dependencies.get(id)!];
    const priority = context.priorityAt(depth.get(id)!, maxDepth);
    const run: StepRun = { lookup, outputs, context, priority, fallback: options.onStepError ?? 'fail', snapshot };
    finished.set(
      id,
      (async () => {
        // A step starts as soon as everything it reads exists.
        await Promise.all(deps.map((d) => finished.get(d)));
        outputs.set(id, await runStep(step, run));
      })(),
    );
  }
  const all = [...finished.values()];
  try {
    await Promise.all(all);
  } catch (error) {
    // The first failure cancels every sub-call of the run still queued or running.
    context.controller.abort(error);
    await Promise.allSettled(all);
    await context.settled(); // fan-out siblings end (and close their spans) before the run does
    throw error;
  }
  let output = outputs.get(plan.output);
  if (options.output) {
    const parsed = options.output.safeParse(output);
    if (!parsed.success)
      throw new StepFailedError(
        plan.output,
        new Error(`its output does not fit the run's output schema: ${formatIssues(zodIssues(parsed.error))}`),
        snapshot(),
        context.costUsd,
      );
    output = parsed.data;
  }
  context.finish('ok');
  return { output: output as z.output<O>, steps: snapshot(), plan, ...context.totals() };
}

/** What one step runs with. */
interface StepRun {
  readonly lookup: (name: string) => Agent | undefined;
  readonly outputs: ReadonlyMap<string, unknown>;
  readonly context: RunContext;
  readonly priority: number;
  /** The run's policy, for a step whose plan does not say. */
  readonly fallback: Policy;
  readonly snapshot: () => Record<string, unknown>;
}

/** One step in a `step` span: its agent once, or once per element of a fan-out, under the step's failure policy. */
async function runStep(step: PlanStep, { lookup, outputs, context, priority, fallback, snapshot }: StepRun): Promise<unknown> {
  const agent = lookup(step.agent)!; // the plan check proved it is there
  const policy = step.onError ?? fallback;
  const span = context.tracer.start('step', step.id, context.root.id, { agent: step.agent, policy, ...(step.forEach ? { fanOut: true } : {}) });
  const once = async (input: unknown): Promise<unknown> => {
    try {
      return await context.runAgent(agent, input as never, span, priority);
    } catch (error) {
      if (policy !== 'retry' || !mayRetryStep(error) || context.aborted) throw error;
      context.retries++;
      // An unreadable answer sits in the result cache: ask again rather than read it back.
      // A timed-out call's job, if one was made, is re-attached to by the executor (same request, same process).
      return context.runAgent(agent, input as never, span, priority, undefined, StructuredOutputError.isInstance(error) ? 'refresh' : undefined);
    }
  };
  try {
    let output: unknown;
    if (step.forEach) {
      const items = Array.isArray(step.forEach) ? step.forEach : resolveReference(step.forEach.$ref, outputs);
      if (!Array.isArray(items)) throw new ShoalError('STEP_FAILED', `forEach of step \`${step.id}\` did not resolve to an array`, false);
      context.tracer.set(span, { items: items.length });
      // The fan-out goes to the executor at once: its queue and limits govern it. Under `skip`, a failed element is null.
      output = await Promise.all(
        items.map((item) =>
          once(resolveInput(step.input, outputs, item)).catch((error: unknown) => {
            if (policy === 'skip' && !endsTheWork(error) && !context.aborted) return null;
            throw error;
          }),
        ),
      );
    } else {
      output = await once(resolveInput(step.input, outputs, undefined));
    }
    context.tracer.end(span, 'ok');
    return output;
  } catch (error) {
    if (policy === 'skip' && !endsTheWork(error) && !context.aborted) {
      context.tracer.end(span, 'skipped', { error: describeError(error) });
      return null; // dependants see null
    }
    context.tracer.end(span, 'error', { error: describeError(error) });
    if (
      context.aborted &&
      context.controller.signal.reason !== undefined &&
      ShoalError.isInstance(context.controller.signal.reason) &&
      !ShoalError.isInstance(error)
    ) {
      throw context.controller.signal.reason;
    }
    if (ShoalError.isInstance(error) && (error.code === 'BUDGET_EXCEEDED' || error.code === 'ABORTED' || error.code === 'STEP_FAILED')) throw error;
    // A bare throw (an agent's own code, a bug) is shoal's fault, not the model's: it goes on as INTERNAL.
    throw new StepFailedError(step.id, toShoalError(error, `step \`${step.id}\``), snapshot(), context.costUsd);
  }
}
