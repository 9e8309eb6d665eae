import type { Agent } from '../agent/types.js';
import type { PlanIssue } from '../errors/issues.js';
import { type Plan, planIssue, typeOf } from './plan.js';

/**
 * When the caller gives an output schema, the final step's agent must produce it: same
 * fields, same types. Checked with the plan, before anything runs; the answer itself is
 * parsed with the schema once the run ends.
 */
export function checkFinal(plan: Plan, outputSchema: Record<string, unknown>, lookup: (name: string) => Agent | undefined): PlanIssue[] {
  const step = plan.steps.find((s) => s.id === plan.output);
  const agent = step ? lookup(step.agent) : undefined;
  if (!step || !agent) return [];
  if (step.forEach)
    return outputSchema.type === 'array'
      ? []
      : [planIssue(step.id, 'type_mismatch', ['output'], 'the output step is a fan-out (an array) but the run asks for an object')];
  const produced = agent.metadata().outputSchema as { properties?: Record<string, Record<string, unknown>> };
  const wanted = outputSchema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const issues: PlanIssue[] = [];
  for (const key of wanted.required ?? []) {
    const have = produced.properties?.[key];
    if (!have)
      issues.push(
        planIssue(step.id, 'missing_field', ['output'], `the output step's agent \`${agent.name}\` does not produce \`${key}\`, which the run's output needs`),
      );
    else {
      const need = typeOf(wanted.properties?.[key]);
      const got = typeOf(have);
      if (need !== undefined && got !== undefined && need !== got)
        issues.push(planIssue(step.id, 'type_mismatch', ['output'], `\`${key}\` is ${got} from \`${agent.name}\` but the run's output needs ${need}`));
    }
  }
  return issues;
}
