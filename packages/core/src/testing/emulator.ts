import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GPT_5_4_NANO_PRICES } from '../providers/prices.js';
import { loadTokenizer, type Tokenizer } from '../tokens.js';
import { perMillionToPicoPerToken, picoToDecimalString } from '../util/money.js';
import { seededRandom } from '../util/random.js';
import { FaultPlan, SlidingWindowLimit } from './emulator-limits.js';
import type { EmulatorFaults, EmulatorJob, EmulatorOptions, EmulatorReply, EmulatorStats, ShortApiEmulator } from './emulator-types.js';
import { jobData, postCallback } from './emulator-wire.js';
import { PrefixCache } from './prefix-cache.js';
import { simulate } from './simulator.js';

/**
 * A ShortAPI emulator: a real HTTP server on 127.0.0.1 that speaks the job protocol as
 * protocol-notes.md describes it (create, query, callback), with seeded latency, a
 * server-side concurrency, scripted replies, seeded faults, and a record of every
 * request, so tests can assert what the client did on the wire.
 */

export type * from './emulator-types.js';

const PRICES = {
  input: perMillionToPicoPerToken(GPT_5_4_NANO_PRICES.inputPerMillionUsd),
  cached: perMillionToPicoPerToken(GPT_5_4_NANO_PRICES.cachedInputPerMillionUsd),
  output: perMillionToPicoPerToken(GPT_5_4_NANO_PRICES.outputPerMillionUsd),
};
const HTML_ERROR = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
const MAX_BODY = 8 * 1024 * 1024;

/**
 * Starts a ShortAPI emulator on 127.0.0.1 (a free port unless `port` is given): the job protocol with seeded latency, scripted replies and faults, and a record
 * of every job. Close it when done.
 */
export async function startShortApiEmulator(options: EmulatorOptions = {}): Promise<ShortApiEmulator> {
  // Usage is counted as the server counts it: with o200k, or the estimate without gpt-tokenizer (warned once).
  const emulator = new Emulator(options, await loadTokenizer());
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
  readonly #faultPlan: FaultPlan;
  readonly #rps: SlidingWindowLimit | undefined;
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
  #rateLimited = 0;
  readonly #heldCreates: (() => void)[] = [];
  #nextId = 1;
  #port = 0;
  #closed = false;
  readonly #tokenizer: Tokenizer;

  constructor(options: EmulatorOptions, tokenizer: Tokenizer) {
    this.#options = options;
    this.#tokenizer = tokenizer;
    this.apiKey = options.apiKey ?? 'emulator-key-0000';
    this.#faults = options.faults ?? {};
    this.#random = seededRandom(options.seed ?? 1);
    this.#faultPlan = new FaultPlan(this.#random);
    this.#rps = options.rpsLimit === undefined ? undefined : new SlidingWindowLimit(options.rpsLimit, 1000, () => performance.now());
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

  releaseCreates(): void {
    for (const answer of this.#heldCreates.splice(0)) answer();
  }

  finish(id: string): boolean {
    const job = this.#byId.get(id);
    if (!job || job.status === 2 || job.status === 3) return false;
    if (job.status === 0) {
      const index = this.#waiting.indexOf(job);
      if (index >= 0) this.#waiting.splice(index, 1);
      this.#running++;
      job.status = 1;
      job.startedAt = performance.now();
    }
    this.#finish(job);
    return true;
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
      rateLimited: this.#rateLimited,
      duplicateCreates: this.#duplicates,
      callbacksSent: this.#callbacks,
      unauthorized: this.#unauthorized,
      peakRunning: this.#peakRunning,
      requestsPerJob: finished === 0 ? 0 : requests / finished,
      faults: { ...this.#faultPlan.counts },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#heldCreates.length = 0;
    this.#timers.clear();
    this.#callbackAgent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- HTTP ----

  #fault(name: keyof EmulatorFaults): boolean {
    return this.#faultPlan.hit(name, this.#faults[name] as number | undefined);
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
      const waitMs = this.#rps?.admit(auth ?? '');
      if (waitMs !== undefined) {
        this.#rateLimited++;
        if (req.method === 'POST') {
          this.#creates++;
          this.#refused++;
        } else this.#queries++;
        this.#json(res, 429, { code: 429, msg: 'too many requests' }, { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) });
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
      const retryAfter: Record<string, string> = this.#faults.retryAfterSeconds === null ? {} : { 'retry-after': String(this.#faults.retryAfterSeconds ?? 0) };
      this.#json(res, 429, { code: 429, msg: 'rate limit exceeded' }, retryAfter);
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
      BigInt(reply.inputTokens - reply.cachedInputTokens) * PRICES.input +
      BigInt(reply.cachedInputTokens) * PRICES.cached +
      BigInt(reply.outputTokens) * PRICES.output;
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
    if (this.#options.reportAmount !== false) data.amount = this.#options.amountAs === 'number' ? Number(job.amountUsd) : job.amountUsd;
    const answer = () => {
      if (reply.dropCreate || this.#fault('dropCreate')) {
        job.answered = false;
        res.socket?.destroy();
      } else {
        this.#json(res, 200, { code: 0, data });
      }
    };
    if (this.#options.createLatencyMs === Infinity) this.#heldCreates.push(answer);
    else if (this.#options.createLatencyMs) this.#later(this.#options.createLatencyMs, answer);
    else answer();
    this.#waiting.push(job);
    this.#startWaiting();
  }

  #reply(prompt: string, args: Record<string, unknown>): EmulatorJob['reply'] & { dropCreate: boolean } {
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
      chosen = this.#options.simulator === false ? { fail: 'no emulator rule matched this prompt and the simulator is off' } : { text: simulate(prompt) };
    }
    const durationMs = chosen.latencyMs ?? this.#sampleLatency();
    const failJob = chosen.fail !== undefined || this.#fault('failJob');
    const text = chosen.text ?? '';
    const promptTokens = this.#tokenizer.encode(prompt);
    const cachedInputTokens = chosen.usage?.cachedInputTokens ?? this.#prefixCache.cachedTokens(promptTokens);
    return {
      text,
      fail: failJob ? (chosen.fail ?? 'the model backend failed (emulated fault)') : undefined,
      durationMs: this.#fault('neverFinish') ? Infinity : durationMs,
      inputTokens: chosen.usage?.inputTokens ?? promptTokens.length,
      outputTokens: chosen.usage?.outputTokens ?? (failJob ? 0 : this.#tokenizer.count(text)),
      cachedInputTokens,
      dropCreate: chosen.dropCreate === true,
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
      if (job.reply.durationMs <= 0)
        this.#finish(job); // 0 ms: done by the time the create is answered
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
    if (job.status === 2 || job.status === 3) return; // finished early by finish()
    job.status = job.reply.fail === undefined ? 2 : 3;
    job.finishedAt = performance.now();
    this.#running--;
    this.#startWaiting();
    if (job.callbackUrl && !this.#fault('dropCallback')) {
      this.#later(this.#faults.callbackDelayMs ?? 0, () => this.#sendCallback(job));
    }
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
      const unknown = this.#options.unknownJob ?? {};
      this.#json(res, unknown.status ?? 404, { code: unknown.code ?? 404, msg: unknown.msg ?? `no job ${id}` });
      return;
    }
    this.#json(res, 200, { code: 0, data: jobData(job, this.#options) });
  }

  #sendCallback(job: EmulatorJob): void {
    if (this.#closed) return;
    if (postCallback(job, jobData(job, this.#options), this.#callbackAgent)) this.#callbacks++;
  }
}
