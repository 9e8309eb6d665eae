import type { BudgetLine, ConcurrencyLine, RunHeaderLine, TotalsLine } from '@shoal/core';

/** The totals the report shows, computed from the event lines; each equals the executor's `metrics()` field of the same name. */
export interface ReportTotals {
  readonly done: number;
  readonly failed: number;
  readonly cached: number;
  readonly deduplicated: number;
  readonly retries: number;
  readonly rateLimited: number;
  readonly jobs: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  /** Summed in integer pico-dollars, turned into a float once at the end (as the executor's ledger does). */
  readonly costUsd: number;
}

export type TotalName = keyof ReportTotals;

/** A computed total that is not what the record's `totals` line says. */
export interface TotalMismatch {
  readonly name: TotalName;
  readonly computed: number;
  readonly recorded: number;
}

/** What in the file could not be used, and what looks incomplete. */
export interface RecordIssues {
  /** Non-blank lines read, the header included. */
  readonly lines: number;
  /** Lines that are not JSON objects, or lack a field their `ev` needs. */
  readonly malformed: number;
  readonly firstMalformedLine: number | undefined;
  /** Lines of an `ev` this reader does not know, with the first few names seen. */
  readonly unknown: number;
  readonly firstUnknownLine: number | undefined;
  readonly unknownNames: readonly string[];
  /** Where a second header starts (recordRun appends by default): that run and what follows are not in this report. */
  readonly laterRunLine: number | undefined;
  /** How many runs the file holds (one per header; more may follow when a run was asked for), and which one this is (1-based). */
  readonly runs: { readonly inFile: number; readonly shown: number };
  /** Calls with events but no `queued` line (queued before the recording started). */
  readonly withoutQueued: number;
  /** Calls with no `end` or `error` line (still running when the recorder was closed). */
  readonly unfinished: number;
  readonly budget: readonly BudgetLine[];
}

/** One priority lane of the timeline: higher priorities run first and are drawn on top. */
export interface Lane {
  /** The priority, or undefined for calls whose `queued` line is missing. */
  readonly priority: number | undefined;
  readonly calls: number;
  readonly failed: number;
}

/**
 * The timeline. Up to `TIMELINE_CALLS_MAX` calls: each call as [lane, row, queuedAt, startedAt,
 * endedAt, failed (0/1)], rows packed so that calls of a lane do not overlap. Beyond that: per
 * lane and time bucket, the most calls waiting and running at once, and the calls that failed.
 */
export type Timeline =
  | { readonly mode: 'calls'; readonly rows: readonly number[]; readonly calls: readonly (readonly [number, number, number, number, number, number])[] }
  | {
      readonly mode: 'buckets';
      readonly waiting: readonly (readonly number[])[];
      readonly running: readonly (readonly number[])[];
      readonly failed: readonly (readonly number[])[];
    };

/** What the inline script draws; embedded in the page as JSON. Series share `bucketMs`. */
export interface ChartData {
  readonly durationMs: number;
  readonly bucketMs: number;
  readonly lanes: readonly Lane[];
  readonly timeline: Timeline;
  /** The most calls queued and running at once in each bucket. */
  readonly queued: readonly number[];
  readonly running: readonly number[];
  /** Effective concurrency as steps [t, value], starting at t = 0. */
  readonly concurrency: readonly (readonly [number, number])[];
  /** Retry lines per bucket of `retryBucketMs` (wider: a bar must be seen), one series per code: RATE_LIMITED first, then most retries first. */
  readonly retryBucketMs: number;
  readonly retries: readonly { readonly code: string; readonly counts: readonly number[] }[];
  readonly latency: LatencySummary;
}

/** End lines' `ms`: counts in log-spaced buckets ([edges[i], edges[i+1])), and nearest-rank percentiles. */
export interface LatencySummary {
  readonly edges: readonly number[];
  readonly counts: readonly number[];
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** A row of a cost table: calls settled under an agent or tag, and what they cost. */
export interface CostRow {
  readonly name: string;
  readonly calls: number;
  readonly failed: number;
  readonly costUsd: number;
}

export interface SlowCall {
  readonly id: string;
  readonly agent: string | undefined;
  readonly priority: number | undefined;
  readonly ms: number;
  readonly attempts: number;
  readonly failed: boolean;
}

export interface FailedCall {
  readonly id: string;
  readonly agent: string | undefined;
  readonly t: number;
  readonly ms: number;
  readonly attempts: number;
  readonly code: string;
  readonly status: number | undefined;
  readonly message: string;
}

/** Everything the report shows, aggregated from one run record. Plain data: it serialises as JSON. */
export interface RunReportData {
  /** The file it was read from. */
  readonly source: string;
  /** The run's header line. */
  readonly header: RunHeaderLine;
  /** From the first event to the last. */
  readonly durationMs: number;
  /** Distinct calls seen. */
  readonly calls: number;
  /** The totals computed from the event lines. */
  readonly totals: ReportTotals;
  /** `totals`: the executor's own count (429s on polls too); `retries`: retry lines of status 429 (there was no totals line). */
  readonly rateLimitedFrom: 'totals' | 'retries';
  /** The record's own `totals` line, when the recorder was closed. */
  readonly recorded: TotalsLine | undefined;
  /** Computed totals that differ from the recorded ones. */
  readonly mismatches: readonly TotalMismatch[];
  /** Lines that could not be used, and what looks incomplete. */
  readonly issues: RecordIssues;
  /** The effective-concurrency changes (at most 10,000). */
  readonly concurrencyChanges: readonly ConcurrencyLine[];
  /** Calls and cost per agent (a call's first tag). */
  readonly byAgent: readonly CostRow[];
  /** Calls and cost per tag. */
  readonly byTag: readonly CostRow[];
  /** Retry lines per error code, most first. */
  readonly retryCodes: readonly {
    /** The error code. */
    readonly code: string;
    /** Retries with it. */
    readonly count: number;
  }[];
  /** The 20 slowest calls, slowest first. */
  readonly slowest: readonly SlowCall[];
  /** Failed calls per error code, most first. */
  readonly failuresByCode: readonly {
    /** The error code. */
    readonly code: string;
    /** Calls that failed with it. */
    readonly count: number;
  }[];
  /** The first 100 failed calls. */
  readonly failures: readonly FailedCall[];
  /** What the page's charts draw. */
  readonly charts: ChartData;
}
