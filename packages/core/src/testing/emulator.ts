import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { GPT_5_4_NANO_PRICING } from '../executor/ledger.js';
import { picoToDecimalString, perMillionToPicoPerToken } from '../util/money.js';
import { seededRandom } from '../util/random.js';
import { PrefixCache } from './prefix-cache.js';
import { simulate, SIMULATOR_MODEL } from './simulator.js';

/**
 * A ShortAPI emulator: a real HTTP server on 127.0.0.1 that speaks the job protocol as
 * protocol-notes.md describes it (create, query, callback), with seeded latency, a
 * server-side concurrency, scripted replies, seeded faults, and a record of every
 * request, so tests can assert what the client did on the wire.
 */

export interface EmulatorReply {
  readonly text?: string;
  /** Fail the job (status 3) with this message. */
  readonly fail?: string;
  /** Job duration for this reply (overrides the latency distribution). */
  readonly latencyMs?: number;
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number; readonly cachedInputTokens?: number };
}

export interface EmulatorRule {
  /** Substring, regular expression or predicate over the prompt. */
  readonly match: string | RegExp | ((prompt: string, args: Record<string, unknown>) => boolean);
  readonly reply: string | EmulatorReply | ((prompt: string, args: Record<string, unknown>) => string | EmulatorReply);
}

export type LatencySpec = number | { readonly min: number; readonly max: number } | ((random: () => number) => number);

export interface EmulatorFaults {
  /** Share of creates answered 429. */
  readonly rateLimit?: number;
  /** Retry-After (seconds) sent with 429s. @default 0 */
  readonly retryAfterSeconds?: number;
  /** Share of creates answered 5xx with an HTML body. */
  readonly serverError?: number;
  /** Share of creates whose job is made (and charged) but whose answer is lost: the socket closes before it. */
  readonly dropCreate?: number;
  /** Share of queries answered 5xx with an HTML body. */
  readonly queryServerError?: number;
  /** Share of queries whose socket is dropped mid-answer. */
  readonly dropQuery?: number;
  /** Share of queries answered with invalid JSON. */
  readonly invalidJson?: number;
  /** Share of jobs that fail (status 3). */
  readonly failJob?: number;
  /** Share of jobs that never finish. */
  readonly neverFinish?: number;
  /** Share of callbacks never sent. */
  readonly dropCallback?: number;
  /** Extra delay before each callback. */
  readonly callbackDelayMs?: number;
}

export interface EmulatorOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Require this bearer key (401 otherwise). @default any non-empty key */
  readonly apiKey?: string;
  /** Job duration: fixed, uniform range, or a sampler. @default 0 */
  readonly latencyMs?: LatencySpec;
  /** @default 1 */
  readonly seed?: number;
  /** Jobs running at once on the server; the rest wait with status 0. @default Infinity */
  readonly concurrency?: number;
  readonly rules?: readonly EmulatorRule[];
  /** Answer prompts no rule matches with the offline simulator. @default true */
  readonly simulator?: boolean;
  readonly faults?: EmulatorFaults;
  /** Report `amount` in create answers and `usage` in results. @default both true */
  readonly reportAmount?: boolean;
  readonly reportUsage?: boolean;
  /** Where the result's text goes (to test every documented place). @default 'text' */
  readonly resultShape?: 'text' | 'output' | 'output_text' | 'content' | 'choices' | 'string';
}

export interface EmulatorJob {
  readonly id: string;
  readonly prompt: string;
  readonly args: Record<string, unknown>;
  readonly idempotencyKey: string | undefined;
  readonly callbackUrl: string | undefined;
  /** ms on the performance.now() clock of this process. */
  readonly createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  status: 0 | 1 | 2 | 3;
  /** False when the create's answer was dropped (a `dropCreate` fault): the client never learned of this job. */
  answered: boolean;
  queries: number;
  callbacksSent: number;
  readonly reply: { text: string; fail: string | undefined; durationMs: number; inputTokens: number; outputTokens: number; cachedInputTokens: number };
  readonly amountUsd: string;
}

export interface EmulatorStats {
  readonly creates: number;
  readonly queries: number;
  readonly jobs: number;
  /** Creates refused with 429 or 5xx (no job made). */
  readonly refusedCreates: number;
  /**
   * Creates carrying the idempotency key of an earlier job that had not failed: the
   * client paid twice. A new job after a failed one (status 3) is a retry, not counted here.
   */
  readonly duplicateCreates: number;
  readonly callbacksSent: number;
  readonly unauthorized: number;
  readonly peakRunning: number;
  /** Mean requests (create + queries) per job that finished. */
  readonly requestsPerJob: number;
  readonly faults: Readonly<Record<string, number>>;
}

export interface ShortApiEmulator {
  /** Base URL, e.g. http://127.0.0.1:39127 */
  readonly url: string;
  /** A key the emulator accepts. */
  readonly apiKey: string;
  readonly port: number;
  /** Jobs in creation order. */
  readonly jobs: readonly EmulatorJob[];
  job(id: string): EmulatorJob | undefined;
  stats(): EmulatorStats;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const PRICES = {
  input: perMillionToPicoPerToken(GPT_5_4_NANO_PRICING.inputPerMillionUsd),
  cached: perMillionToPicoPerToken(GPT_5_4_NANO_PRICING.cachedInputPerMillionUsd),
  output: perMillionToPicoPerToken(GPT_5_4_NANO_PRICING.outputPerMillionUsd),
};
const HTML_ERROR = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
const MAX_BODY = 8 * 1024 * 1024;

export async function startShortApiEmulator(options: EmulatorOptions = {}): Promise<ShortApiEmulator> {
  const emulator = new Emulator(options);
  await emulator.listen(options.port ?? 0);
  return emulator;
}

class Emulator implements ShortApiEmulator {
  readonly apiKey: string;
  readonly jobs: EmulatorJob[] = [];
  readonly #byId = new Map<string, EmulatorJob>();
  readonly #liveByKey = new Map<string, EmulatorJob>();
  readonly #options: EmulatorOptions;
  readonly #faults: EmulatorFaults;
  readonly #random: () => number;
  readonly #concurrency: number;
  readonly #waiting: EmulatorJob[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #prefixCache = new PrefixCache();
  readonly #faultCounts: Record<string, number> = {};
  readonly #faultPlans: Record<string, { positions: Set<number>; index: number; carry: number }> = {};
  readonly #server: http.Server;
  readonly #callbackAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  #running = 0;
  #peakRunning = 0;
  #creates = 0;
  #queries = 0;
  #refused = 0;
  #duplicates = 0;
  #callbacks = 0;
  #unauthorized = 0;
  #nextId = 1;
  #port = 0;
  #closed = false;

  constructor(options: EmulatorOptions) {
    this.#options = options;
    this.apiKey = options.apiKey ?? 'emulator-key-0000';
    this.#faults = options.faults ?? {};
    this.#random = seededRandom(options.seed ?? 1);
    this.#concurrency = options.concurrency ?? Infinity;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  job(id: string): EmulatorJob | undefined {
    return this.#byId.get(id);
  }

  stats(): EmulatorStats {
    let finished = 0;
    let requests = 0;
    for (const job of this.jobs) {
      if (job.status === 2 || job.status === 3) {
        finished++;
        requests += 1 + job.queries;
      }
    }
    return {
      creates: this.#creates,
      queries: this.#queries,
      jobs: this.jobs.length,
      refusedCreates: this.#refused,
      duplicateCreates: this.#duplicates,
      callbacksSent: this.#callbacks,
      unauthorized: this.#unauthorized,
      peakRunning: this.#peakRunning,
      requestsPerJob: finished === 0 ? 0 : requests / finished,
      faults: { ...this.#faultCounts },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#callbackAgent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- HTTP ----

  /**
   * Faults hit an exact share of requests at random places: each block of 100 requests
   * gets round(100 x share) faults (the remainder carried to the next block) at seeded
   * random positions. Exact rates, so a test can count on the rate it asked for, and no
   * fixed period for a client's own rhythm to fall into step with.
   */
  #fault(name: keyof EmulatorFaults): boolean {
    const share = this.#faults[name];
    if (typeof share !== 'number' || share <= 0) return false;
    let plan = this.#faultPlans[name];
    if (!plan || plan.index >= 100) {
      const want = 100 * Math.min(1, share) + (plan?.carry ?? 0);
      const count = Math.min(100, Math.floor(want));
      const positions = new Set<number>();
      while (positions.size < count) positions.add(Math.floor(this.#random() * 100));
      plan = { positions, index: 0, carry: want - count };
      this.#faultPlans[name] = plan;
    }
    const hit = plan.positions.has(plan.index++);
    if (hit) this.#faultCounts[name] = (this.#faultCounts[name] ?? 0) + 1;
    return hit;
  }

  #json(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const auth = req.headers.authorization;
    const authorized = this.#options.apiKey === undefined ? typeof auth === 'string' && /^Bearer \S+$/.test(auth) : auth === `Bearer ${this.#options.apiKey}`;
    const url = req.url ?? '';
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (this.#closed) {
        res.destroy();
        return;
      }
      if (!authorized) {
        this.#unauthorized++;
        this.#json(res, 401, { code: 401, msg: 'invalid api key' });
        return;
      }
      if (req.method === 'POST' && url === '/api/v1/job/create') {
        if (size > MAX_BODY) return this.#json(res, 413, { code: 413, msg: 'body too large' });
        this.#create(req, Buffer.concat(chunks).toString('utf8'), res);
      } else if (req.method === 'GET' && url.startsWith('/api/v1/job/query')) {
        this.#query(new URL(url, 'http://x').searchParams.get('id') ?? '', res);
      } else {
        this.#json(res, 404, { code: 404, msg: `no route ${req.method} ${url.split('?')[0]}` });
      }
    });
  }

  #create(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    this.#creates++;
    if (this.#fault('rateLimit')) {
      this.#refused++;
      this.#json(res, 429, { code: 429, msg: 'rate limit exceeded' }, { 'retry-after': String(this.#faults.retryAfterSeconds ?? 0) });
      return;
    }
    if (this.#fault('serverError')) {
      this.#refused++;
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(HTML_ERROR);
      return;
    }
    let payload: { model?: unknown; args?: { prompt?: unknown } & Record<string, unknown>; callback_url?: unknown };
    try {
      payload = JSON.parse(body);
    } catch {
      this.#json(res, 400, { code: 400, msg: 'body is not JSON' });
      return;
    }
    const prompt = payload?.args?.prompt;
    if (typeof payload?.model !== 'string' || typeof prompt !== 'string') {
      this.#json(res, 400, { code: 400, msg: 'expected { model: string, args: { prompt: string } }' });
      return;
    }
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    if (key !== undefined) {
      const earlier = this.#liveByKey.get(key);
      if (earlier && earlier.status !== 3) this.#duplicates++;
    }
    const args = { ...payload.args } as Record<string, unknown>;
    const reply = this.#reply(prompt, args);
    const amountPico =
      BigInt(reply.inputTokens - reply.cachedInputTokens) * PRICES.input + BigInt(reply.cachedInputTokens) * PRICES.cached + BigInt(reply.outputTokens) * PRICES.output;
    const job: EmulatorJob = {
      id: `job_${(this.#nextId++).toString(36).padStart(6, '0')}${Math.floor(this.#random() * 1e9).toString(36)}`,
      prompt,
      args,
      idempotencyKey: key,
      callbackUrl: typeof payload.callback_url === 'string' ? payload.callback_url : undefined,
      createdAt: performance.now(),
      startedAt: undefined,
      finishedAt: undefined,
      status: 0,
      answered: true,
      queries: 0,
      callbacksSent: 0,
      reply,
      amountUsd: picoToDecimalString(amountPico),
    };
    this.jobs.push(job);
    this.#byId.set(job.id, job);
    if (key !== undefined) this.#liveByKey.set(key, job);
    const data: Record<string, unknown> = { job_id: job.id };
    if (this.#options.reportAmount !== false) data.amount = job.amountUsd;
    if (this.#fault('dropCreate')) {
      job.answered = false;
      res.socket?.destroy();
    } else {
      this.#json(res, 200, { code: 0, data });
    }
    this.#waiting.push(job);
    this.#startWaiting();
  }

  #reply(prompt: string, args: Record<string, unknown>): EmulatorJob['reply'] {
    let chosen: EmulatorReply | undefined;
    for (const rule of this.#options.rules ?? []) {
      const m = rule.match;
      const hit = typeof m === 'string' ? prompt.includes(m) : m instanceof RegExp ? m.test(prompt) : m(prompt, args);
      if (!hit) continue;
      const r = typeof rule.reply === 'function' ? rule.reply(prompt, args) : rule.reply;
      chosen = typeof r === 'string' ? { text: r } : r;
      break;
    }
    if (!chosen) {
      chosen =
        this.#options.simulator === false
          ? { fail: 'no emulator rule matched this prompt and the simulator is off' }
          : { text: simulate(prompt) };
    }
    const durationMs = chosen.latencyMs ?? this.#sampleLatency();
    const failJob = chosen.fail !== undefined || this.#fault('failJob');
    const text = chosen.text ?? '';
    const promptTokens = encode(prompt);
    const cachedInputTokens = chosen.usage?.cachedInputTokens ?? this.#prefixCache.cachedTokens(promptTokens);
    return {
      text,
      fail: failJob ? (chosen.fail ?? 'the model backend failed (emulated fault)') : undefined,
      durationMs: this.#fault('neverFinish') ? Infinity : durationMs,
      inputTokens: chosen.usage?.inputTokens ?? promptTokens.length,
      outputTokens: chosen.usage?.outputTokens ?? (failJob ? 0 : encode(text).length),
      cachedInputTokens,
    };
  }

  #sampleLatency(): number {
    const spec = this.#options.latencyMs ?? 0;
    if (typeof spec === 'number') return spec;
    if (typeof spec === 'function') return Math.max(0, spec(this.#random));
    return spec.min + (spec.max - spec.min) * this.#random();
  }

  #startWaiting(): void {
    while (this.#waiting.length > 0 && this.#running < this.#concurrency) {
      const job = this.#waiting.shift()!;
      this.#running++;
      this.#peakRunning = Math.max(this.#peakRunning, this.#running);
      job.status = 1;
      job.startedAt = performance.now();
      if (job.reply.durationMs === Infinity) continue; // never finishes, holds its server slot
      if (job.reply.durationMs <= 0) this.#finish(job); // 0 ms: done by the time the create is answered
      else this.#later(job.reply.durationMs, () => this.#finish(job));
    }
  }

  #later(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #finish(job: EmulatorJob): void {
    job.status = job.reply.fail === undefined ? 2 : 3;
    job.finishedAt = performance.now();
    this.#running--;
    this.#startWaiting();
    if (job.callbackUrl && !this.#fault('dropCallback')) {
      this.#later(this.#faults.callbackDelayMs ?? 0, () => this.#sendCallback(job));
    }
  }

  #jobData(job: EmulatorJob): Record<string, unknown> {
    if (job.status === 3) return { job_id: job.id, status: 3, error: job.reply.fail };
    if (job.status !== 2) return { job_id: job.id, status: job.status };
    const usage = {
      input_tokens: job.reply.inputTokens,
      output_tokens: job.reply.outputTokens,
      input_tokens_details: { cached_tokens: job.reply.cachedInputTokens },
    };
    const text = job.reply.text;
    const shape = this.#options.resultShape ?? 'text';
    let result: unknown;
    if (shape === 'string') result = text;
    else if (shape === 'choices') result = { choices: [{ message: { role: 'assistant', content: text } }] };
    else result = { [shape]: text };
    if (typeof result === 'object' && result !== null) {
      (result as Record<string, unknown>).model = SIMULATOR_MODEL;
      if (this.#options.reportUsage !== false) (result as Record<string, unknown>).usage = usage;
    }
    return { job_id: job.id, status: 2, result };
  }

  #query(id: string, res: http.ServerResponse): void {
    this.#queries++;
    const job = this.#byId.get(id);
    if (job) job.queries++;
    if (this.#fault('queryServerError')) {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end(HTML_ERROR);
      return;
    }
    if (this.#fault('dropQuery')) {
      // Headers and half a body, then the socket goes away.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 200 });
      res.write('{"code":0,"data":{"sta');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (this.#fault('invalidJson')) {
      const body = '{"code":0,"data":{"status":2,"result":';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (!job) {
      this.#json(res, 404, { code: 404, msg: `no job ${id}` });
      return;
    }
    this.#json(res, 200, { code: 0, data: this.#jobData(job) });
  }

  #sendCallback(job: EmulatorJob): void {
    if (this.#closed || !job.callbackUrl) return;
    let target: URL;
    try {
      target = new URL(job.callbackUrl);
    } catch {
      return;
    }
    if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost' && target.hostname !== '[::1]') return; // loopback only
    const body = JSON.stringify({ code: 0, data: this.#jobData(job) });
    job.callbacksSent++;
    this.#callbacks++;
    const req = http.request(target, {
      method: 'POST',
      agent: this.#callbackAgent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (r) => r.resume());
    req.on('error', () => {});
    req.end(body);
  }
}
