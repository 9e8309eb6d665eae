import { z } from 'zod';
import { defineAgent } from '../agent/define-agent.js';
import type { Agent } from '../agent/types.js';
import type { PlanIssue } from '../errors/issues.js';
import { PlanError, ShoalConfigError, StructuredOutputError } from '../errors.js';
import type { Registry } from '../plugins/plugin.js';
import { toJsonSchema } from '../structured/structured-output.js';
import { describeError } from '../telemetry/tracer.js';
import { checkFinal } from './final-output.js';
import { planIssue, planSchema, type ValidatedPlan, validatePlan } from './plan.js';
import type { RunContext } from './run-context.js';

const catalogueEntry = z.object({
  /** The agent's name. */
  name: z.string(),
  /** What the agent does. */
  description: z.string(),
  /** The JSON Schema of its input. */
  inputSchema: z.unknown(),
  /** The JSON Schema of its output. */
  outputSchema: z.unknown(),
});

/** The planner: itself an agent on the same executor. */
export const plannerAgent = defineAgent({
  name: 'shoal.planner',
  description: 'Turns a task into a plan of agent steps.',
  input: z.object({
    /** The task to plan. */
    task: z.string().min(1),
    /** The agents a plan may use: name, description and JSON Schemas. */
    agents: z.array(catalogueEntry).min(1),
    /** The JSON Schema the final step's output must fit, when the run has one. */
    output: z.unknown().optional(),
    /** The planner's last plan, when it had problems. */
    previousPlan: z.unknown().optional(),
    /** What was wrong with `previousPlan`. */
    problems: z.array(z.string()).optional(),
  }),
  output: planSchema,
  instructions: [
    "You are shoal's planner. Break the task into steps, each run by one of the listed agents (use their names exactly; inputs must fit their inputSchema).",
    'A step is {"id", "agent", "input", "dependsOn"?, "forEach"?, "onError"?}. An input value is a literal, or {"$ref": "stepId.path.to[0].field"} for (part of) an earlier step\'s output.',
    'A fan-out step has "forEach": {"$ref": "stepId.arrayField"} (or a literal array) and runs its agent once per element; inside its input, {"$item": "path"} is the current element (or {"$item": ""} for the whole element). Its output is the array of results.',
    '"output" names the step whose output answers the task; when an output JSON Schema is given, that step\'s agent must produce it.',
    'Prefer few steps and fan-outs over many single steps. If "problems" are listed, they are what was wrong with "previousPlan": fix every one.',
  ].join('\n'),
  maxAttempts: 2,
});

export interface PlanningOptions {
  readonly registry: Registry;
  /** Agents by name, for the plan check. */
  readonly lookup: (name: string) => Agent | undefined;
  /** Planner attempts: each bad plan goes back with its issues. */
  readonly attempts: number;
}

/**
 * Plans a task in a `plan` step of the run: the planner proposes, the plan is checked (and,
 * with an output schema, its final step), and a plan with issues goes back to the planner
 * with them. PlanError after the last attempt; no step of the plan has run.
 */
export async function planTask(task: string, output: z.ZodType | undefined, context: RunContext, planning: PlanningOptions): Promise<ValidatedPlan> {
  if (typeof task !== 'string' || task.trim() === '') throw new ShoalConfigError('coordinator.run() needs a task: a non-empty string.');
  const agents = planning.registry.list().map(({ name, description, inputSchema, outputSchema }) => ({ name, description, inputSchema, outputSchema }));
  if (agents.length === 0) throw new ShoalConfigError('The coordinator has no agents to plan with: pass `agents` or `plugins` to createCoordinator().');
  const outputSchema = output ? toJsonSchema(output) : undefined;
  const span = context.tracer.start('step', 'plan', context.root.id, { agent: plannerAgent.name });
  let issues: PlanIssue[] = [];
  let previous: unknown;
  for (let attempt = 1; attempt <= planning.attempts; attempt++) {
    let proposed: unknown;
    try {
      proposed = await context.runAgent(
        plannerAgent,
        {
          task,
          agents,
          ...(outputSchema ? { output: outputSchema } : {}),
          ...(issues.length ? { previousPlan: previous, problems: issues.map(formatPlanIssue) } : {}),
        },
        span,
        context.priorityAt(1, 1),
      );
    } catch (error) {
      if (!StructuredOutputError.isInstance(error)) {
        context.tracer.end(span, 'error', { error: describeError(error) });
        throw error;
      }
      issues = error.issues.map((i) => planIssue(undefined, i.code, i.path, `${i.path.join('.') || '(plan)'}: ${i.message}`));
      previous = error.text;
      continue;
    }
    const checked = validatePlan(proposed, planning.lookup);
    const finalIssues = checked.ok && output ? checkFinal(checked.value.plan, outputSchema!, planning.lookup) : [];
    if (checked.ok && finalIssues.length === 0) {
      context.tracer.end(span, 'ok', { attempts: attempt, steps: checked.value.plan.steps.length });
      return checked.value;
    }
    issues = checked.ok ? finalIssues : checked.issues;
    previous = proposed;
  }
  const error = new PlanError(issues, previous, planning.attempts);
  context.tracer.end(span, 'error', { error: describeError(error), issues });
  throw error;
}

function formatPlanIssue(issue: PlanIssue): string {
  return issue.step ? `step "${issue.step}": ${issue.message}` : issue.message;
}
