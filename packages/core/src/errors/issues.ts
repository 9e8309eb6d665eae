/**
 * One shape for every list of problems shoal reports, as zod reports its own: an input or
 * an answer that misses its schema (`ValidationIssue`), a plan that is not valid
 * (`PlanIssue`), an answer off the protocol (`ProtocolError.issues`).
 */

/** One problem: what kind (`code`), where (a path into the value checked; empty for the whole), and what. */
export interface Issue {
  /** What kind of problem it is. */
  readonly code: string;
  /** Where, as a path into the value checked; empty for the whole value. */
  readonly path: readonly (string | number)[];
  /** What is wrong, in words. */
  readonly message: string;
}

/** An input or an answer that misses its schema: zod's issue codes (`too_small`, `invalid_type`, ...). */
export type ValidationIssue = Issue;

/**
 * A problem with a plan. The path starts at the plan (`['steps', 'fetch', 'input', 'url']`,
 * `['output']`); `step` is the step it is about, when it is about one.
 */
export interface PlanIssue extends Issue {
  /** The id of the step it is about, when it is about one. */
  readonly step: string | undefined;
}

/** "label: Expected string; score: Too big; and 2 more", the first `max` of them. */
export function formatIssues(issues: readonly Issue[], max = 5): string {
  return formatList(
    issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    max,
  );
}

/** "step `a`: the id is used by two steps; output names a missing step `x`": plan issues by step. */
export function formatPlanIssues(issues: readonly PlanIssue[], max = 5): string {
  return formatList(
    issues.map((i) => (i.step === undefined ? i.message : `step \`${i.step}\`: ${i.message}`)),
    max,
  );
}

/** A path as the messages write it: `items.2.label`; `(root)` for the value itself. */
function formatPath(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.join('.');
}

function formatList(shown: readonly string[], max: number): string {
  return shown.slice(0, max).join('; ') + (shown.length > max ? `; and ${shown.length - max} more` : '');
}
