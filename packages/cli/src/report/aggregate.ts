import type {
  BudgetLine,
  ConcurrencyLine,
  EndLine,
  ErrorLine,
  JobLine,
  QueuedLine,
  RetryLine,
  RunHeaderLine,
  RunRecordLine,
  StartedLine,
  TotalsLine,
} from '@shoal/core';
import { picoToUsd, usdToPico } from '@shoal/core/internal';
import { CountSeries, LevelSeries } from './buckets.js';
import type { CallState, LaneState } from './call-state.js';
import { buildCharts } from './charts.js';
import { CostTable } from './cost-table.js';
import { SlowestCalls } from './slowest.js';
import { compareTotals } from './totals.js';
import type { FailedCall, RecordIssues, ReportTotals, RunReportData } from './types.js';

const SLOWEST = 20;
const FAILURES_LISTED = 100;
const UNKNOWN_NAMES_KEPT = 5;
/** Effective-concurrency changes drawn, at most (the adaptive limit moves on every burst of 429s). */
const CONCURRENCY_STEPS_MAX = 10_000;
/** The cost row of calls without tags. */
const UNTAGGED = '(no tags)';

/** Counters that become `ReportTotals`; money in pico-dollars. */
class Counters {
  done = 0;
  failed = 0;
  cached = 0;
  deduplicated = 0;
  retries = 0;
  retries429 = 0;
  jobs = 0;
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  pico = 0n;
}

/**
 * Folds the event lines of one run, in the order they were written, into what the report
 * shows. Memory grows with the number of calls (a few numbers each), not with the lines.
 */
export class RunAggregator {
  readonly #source: string;
  readonly #header: RunHeaderLine;
  readonly #calls = new Map<string, CallState>();
  readonly #lanes = new Map<number | undefined, LaneState>();
  readonly #n = new Counters();
  readonly #queued = new LevelSeries();
  readonly #retrySeries = new Map<string, CountSeries>();
  readonly #retryCodes = new Map<string, number>();
  readonly #failureCodes = new Map<string, number>();
  readonly #failures: FailedCall[] = [];
  readonly #slowest = new SlowestCalls(SLOWEST);
  readonly #latency: number[] = [];
  readonly #byAgent = new CostTable();
  readonly #byTag = new CostTable();
  readonly #concurrency: ConcurrencyLine[] = [];
  readonly #budget: BudgetLine[] = [];
  #recorded: TotalsLine | undefined;
  #lastT = 0;
  #withoutQueued = 0;
  readonly #issues = {
    lines: 1,
    malformed: 0,
    firstMalformedLine: undefined as number | undefined,
    unknown: 0,
    firstUnknownLine: undefined as number | undefined,
  };
  readonly #unknownNames = new Set<string>();
  #laterRunLine: number | undefined;
  #runs = { inFile: 1, shown: 1 };

  constructor(header: RunHeaderLine, source: string) {
    this.#header = header;
    this.#source = source;
  }

  malformed(lineNumber: number): void {
    this.#issues.lines++;
    this.#issues.malformed++;
    this.#issues.firstMalformedLine ??= lineNumber;
  }

  unknown(lineNumber: number, ev: string): void {
    this.#issues.lines++;
    this.#issues.unknown++;
    this.#issues.firstUnknownLine ??= lineNumber;
    if (this.#unknownNames.size < UNKNOWN_NAMES_KEPT) this.#unknownNames.add(ev);
  }

  /** A later header: the file holds another run from here on, which this report leaves out. */
  laterRun(lineNumber: number): void {
    this.#laterRunLine = lineNumber;
  }

  /** The file holds `runs` runs (at least, when a run was asked for and reading stopped after it); this is run `shown`. */
  runsInFile(runs: number, shown: number): void {
    this.#runs = { inFile: runs, shown };
  }

  /** Folds in one event line; a line that contradicts the ones before (a call settled twice) is counted as malformed. */
  add(line: Exclude<RunRecordLine, RunHeaderLine>, lineNumber: number): void {
    if (!this.#apply(line)) {
      this.malformed(lineNumber);
      return;
    }
    this.#issues.lines++;
    this.#lastT = Math.max(this.#lastT, line.t);
  }

  #apply(line: Exclude<RunRecordLine, RunHeaderLine>): boolean {
    switch (line.ev) {
      case 'queued':
        return this.#onQueued(line);
      case 'started':
        return this.#onStarted(line);
      case 'job':
        return this.#onJob(line);
      case 'retry':
        return this.#onRetry(line);
      case 'end':
        return this.#onEnd(line);
      case 'error':
        return this.#onError(line);
      case 'concurrency':
        if (this.#concurrency.length < CONCURRENCY_STEPS_MAX) this.#concurrency.push(line);
        return true;
      case 'budget':
        this.#budget.push(line);
        return true;
      case 'totals':
        this.#recorded = line;
        return true;
    }
  }

  #lane(priority: number | undefined): LaneState {
    let lane = this.#lanes.get(priority);
    if (!lane) {
      lane = { priority, calls: 0, failed: 0, waiting: new LevelSeries(), failures: new CountSeries() };
      this.#lanes.set(priority, lane);
    }
    return lane;
  }

  /** The call of `id`; one with no queued line (queued before the recording began) goes to a lane of unknown priority. */
  #call(id: string, queued?: QueuedLine): CallState {
    let call = this.#calls.get(id);
    if (!call) {
      if (!queued) this.#withoutQueued++;
      const lane = this.#lane(queued?.priority);
      lane.calls++;
      call = {
        phase: 'seen',
        lane,
        agent: queued?.agent,
        tags: queued?.tags,
        queuedAt: undefined,
        startedAt: undefined,
        endedAt: undefined,
        shared: false,
        jobPico: 0n,
      };
      this.#calls.set(id, call);
    }
    return call;
  }

  #onQueued(line: QueuedLine): boolean {
    if (this.#calls.has(line.id)) return false;
    const call = this.#call(line.id, line);
    call.phase = 'queued';
    call.queuedAt = line.t;
    call.lane.waiting.change(line.t, 1);
    this.#queued.change(line.t, 1);
    return true;
  }

  #onStarted(line: StartedLine): boolean {
    const call = this.#call(line.id);
    if (call.phase !== 'queued' && call.phase !== 'seen') return false;
    if (call.phase === 'queued') {
      call.lane.waiting.change(line.t, -1);
      this.#queued.change(line.t, -1);
    }
    call.phase = 'running';
    call.startedAt = line.t;
    return true;
  }

  #onJob(line: JobLine): boolean {
    const call = this.#call(line.id);
    // A resumed job was created (and counted, and charged) by an earlier run.
    if (!line.resumed) this.#n.jobs++;
    const pico = line.usd === undefined ? 0n : (usdToPico(line.usd) ?? 0n);
    if (call.phase === 'failed') {
      // Charged after its call gave up (a create answered late): the ledger books it all the same.
      this.#n.pico += pico;
      this.#attribute(call, (table, name) => table.charge(name, pico));
    } else call.jobPico += pico;
    return true;
  }

  #onRetry(line: RetryLine): boolean {
    this.#call(line.id);
    this.#n.retries++;
    if (line.status === 429) this.#n.retries429++;
    this.#retryCodes.set(line.code, (this.#retryCodes.get(line.code) ?? 0) + 1);
    let series = this.#retrySeries.get(line.code);
    if (!series) this.#retrySeries.set(line.code, (series = new CountSeries()));
    series.add(line.t);
    return true;
  }

  #onEnd(line: EndLine): boolean {
    const call = this.#call(line.id);
    if (!this.#settle(call, line.t, 'ok')) return false;
    const n = this.#n;
    n.done++;
    if (line.cached) n.cached++;
    if (line.dedup) {
      n.deduplicated++;
      call.shared = true;
    }
    // The ledger books no tokens for an answer from the cache or one shared with an identical call: its owner's end has them.
    if (!line.cached && !line.dedup) {
      n.inputTokens += line.in;
      n.cachedInputTokens += line.cachedIn;
      n.outputTokens += line.out;
    }
    const pico = usdToPico(line.usd) ?? 0n;
    n.pico += pico;
    this.#attribute(call, (table, name) => table.settle(name, pico, false));
    this.#latency.push(line.ms);
    this.#slowest.add({ id: line.id, agent: call.agent, priority: call.lane.priority, ms: line.ms, attempts: line.attempts, failed: false });
    return true;
  }

  #onError(line: ErrorLine): boolean {
    const call = this.#call(line.id);
    if (!this.#settle(call, line.t, 'failed')) return false;
    this.#n.failed++;
    // A failed call's cost is what its jobs were charged at create.
    this.#n.pico += call.jobPico;
    this.#attribute(call, (table, name) => table.settle(name, call.jobPico, true));
    call.lane.failed++;
    call.lane.failures.add(line.t);
    this.#failureCodes.set(line.code, (this.#failureCodes.get(line.code) ?? 0) + 1);
    if (this.#failures.length < FAILURES_LISTED) {
      const { id, t, ms, attempts, code, status, message } = line;
      this.#failures.push({ id, agent: call.agent, t, ms, attempts, code, status, message });
    }
    this.#slowest.add({ id: line.id, agent: call.agent, priority: call.lane.priority, ms: line.ms, attempts: line.attempts, failed: true });
    return true;
  }

  /** Takes the call out of the queue or its slot. False when it was settled already. */
  #settle(call: CallState, t: number, outcome: 'ok' | 'failed'): boolean {
    if (call.phase === 'ok' || call.phase === 'failed') return false;
    if (call.phase === 'queued') {
      call.lane.waiting.change(t, -1);
      this.#queued.change(t, -1);
    }
    call.phase = outcome;
    call.endedAt = t;
    return true;
  }

  /** Applies `book` to the call's agent row and each of its tags' rows. */
  #attribute(call: CallState, book: (table: CostTable, name: string) => void): void {
    book(this.#byAgent, call.agent ?? UNTAGGED);
    for (const tag of call.tags ?? [UNTAGGED]) book(this.#byTag, tag);
  }

  finish(): RunReportData {
    const n = this.#n;
    const recorded = this.#recorded;
    const totals: ReportTotals = {
      done: n.done,
      failed: n.failed,
      cached: n.cached,
      deduplicated: n.deduplicated,
      retries: n.retries,
      rateLimited: recorded ? recorded.rateLimited : n.retries429,
      jobs: n.jobs,
      inputTokens: n.inputTokens,
      cachedInputTokens: n.cachedInputTokens,
      outputTokens: n.outputTokens,
      costUsd: picoToUsd(n.pico),
    };
    let unfinished = 0;
    for (const call of this.#calls.values()) if (call.phase !== 'ok' && call.phase !== 'failed') unfinished++;
    const issues: RecordIssues = {
      ...this.#issues,
      unknownNames: [...this.#unknownNames],
      laterRunLine: this.#laterRunLine,
      runs: this.#runs,
      withoutQueued: this.#withoutQueued,
      unfinished,
      budget: this.#budget,
    };
    const byCount = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([code, count]) => ({ code, count }));
    return {
      source: this.#source,
      header: this.#header,
      durationMs: this.#lastT,
      calls: this.#calls.size,
      totals,
      rateLimitedFrom: recorded ? 'totals' : 'retries',
      recorded,
      mismatches: compareTotals(totals, recorded),
      issues,
      concurrencyChanges: this.#concurrency,
      byAgent: this.#byAgent.rows(),
      byTag: this.#byTag.rows(),
      retryCodes: byCount(this.#retryCodes),
      slowest: this.#slowest.list(),
      failuresByCode: byCount(this.#failureCodes),
      failures: this.#failures,
      charts: buildCharts({
        durationMs: this.#lastT,
        concurrencyAtStart: this.#header.concurrency,
        calls: this.#calls,
        lanes: this.#lanes,
        queued: this.#queued,
        retries: this.#retrySeries,
        retryCodes: this.#retryCodes,
        concurrency: this.#concurrency,
        latency: this.#latency,
      }),
    };
  }
}
