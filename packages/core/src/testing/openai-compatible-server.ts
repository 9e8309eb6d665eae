import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadTokenizer } from '../tokens.js';
import { hashString, seededRandom } from '../util/random.js';
import { PrefixCache } from './prefix-cache.js';
import { SIMULATOR_MODEL, simulate, simulateWithSchema } from './simulator.js';

/** A scripted answer: the first rule whose `match` fits the prompt gives the content. */
export interface OpenAIServerRule {
  /** Substring, regular expression or predicate over the prompt. */
  readonly match: string | RegExp | ((prompt: string) => boolean);
  /** The answer's content, or a function of the prompt that returns it. */
  readonly reply: string | ((prompt: string) => string);
}

/** Options of `startOpenAICompatibleServer()`. */
export interface OpenAIServerOptions {
  /** The port to listen on, on 127.0.0.1. @default 0 (a free port) */
  readonly port?: number;
  /** Require this bearer key. @default none required */
  readonly apiKey?: string;
  /** Delay before each answer, in ms. @default 0 */
  readonly latencyMs?: number;
  /** Seed of the fault draws. @default 1 */
  readonly seed?: number;
  /** Scripted answers: the first rule that matches gives the content; without one, the offline simulator answers. */
  readonly rules?: readonly OpenAIServerRule[];
  /** Answer 400 to any request with a strict json_schema, like servers without strict mode. */
  readonly rejectStrict?: boolean;
  /**
   * Shares of requests answered 429 or 500. Which requests get them is drawn from the seed,
   * the prompt and how many times that prompt was asked before, never from arrival order:
   * the same calls meet the same faults however the requests interleave.
   */
  readonly faults?: {
    /** Share of requests answered 429. */
    readonly rateLimit?: number;
    /** Share of requests answered 500. */
    readonly serverError?: number;
    /** Retry-After (seconds) sent with the 429s. @default 0 */
    readonly retryAfterSeconds?: number;
  };
}

/** One request the server received, as it recorded it. */
export interface RecordedChatRequest {
  /** The messages' contents, joined by blank lines. */
  readonly prompt: string;
  /** The request's `model`. */
  readonly model: string;
  /** The request's `response_format`, as sent. */
  readonly responseFormat:
    | {
        /** `json_schema`, `json_object` or `text`. */
        type: string;
        /** The schema, for `json_schema`. */
        json_schema?: {
          /** The schema's name. */
          name: string;
          /** Whether strict mode was asked for. */
          strict?: boolean;
          /** The JSON Schema. */
          schema: Record<string, unknown>;
        };
      }
    | undefined;
  /** The HTTP status it was answered with. */
  readonly status: number;
}

/** A running OpenAI-compatible test server (from `startOpenAICompatibleServer()`). */
export interface OpenAICompatibleServer {
  /** Base URL including `/v1`, ready for `openAICompatible({ baseURL })`. */
  readonly url: string;
  /** The requests received (those past the key and JSON checks), in order. */
  readonly requests: readonly RecordedChatRequest[];
  /** Stops the server: pending answers are dropped, open connections closed. */
  close(): Promise<void>;
  /** Closes it (for `await using`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a loopback server speaking OpenAI's chat completions (`POST /v1/chat/completions`),
 * answering from rules or the offline simulator: what the OpenAI-compatible provider is
 * tested against, over real HTTP. It honours `response_format: json_schema` (and can be
 * told to refuse strict schemas, as some servers do), reports usage with cached tokens,
 * and records every request.
 */
export async function startOpenAICompatibleServer(options: OpenAIServerOptions = {}): Promise<OpenAICompatibleServer> {
  const requests: RecordedChatRequest[] = [];
  const seed = options.seed ?? 1;
  /** Times each prompt was asked, for fault draws that do not depend on timing. */
  const asked = new Map<string, number>();
  const draw = (prompt: string, seen: number, salt: string) => seededRandom(hashString(`${seed}\u0000${salt}\u0000${seen}\u0000${prompt}`))();
  const prefixCache = new PrefixCache();
  const tokenizer = await loadTokenizer(); // o200k, or the estimate without gpt-tokenizer (warned once)
  const timers = new Set<NodeJS.Timeout>();
  const send = (res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    const body = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
      let body: { model?: unknown; messages?: { role: string; content: string }[]; response_format?: RecordedChatRequest['responseFormat'] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, { error: { message: 'body is not JSON' } });
      }
      const prompt = Array.isArray(body.messages) ? body.messages.map((m) => m.content).join('\n\n') : '';
      const format = body.response_format;
      const record = (status: number) => requests.push({ prompt, model: String(body.model), responseFormat: format, status });
      if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
        record(400);
        return send(res, 400, { error: { message: 'model and messages are required' } });
      }
      const seen = asked.get(prompt) ?? 0;
      asked.set(prompt, seen + 1);
      if (options.faults?.rateLimit && draw(prompt, seen, '429') < options.faults.rateLimit) {
        record(429);
        return send(res, 429, { error: { message: 'Rate limit reached' } }, { 'retry-after': String(options.faults.retryAfterSeconds ?? 0) });
      }
      if (options.faults?.serverError && draw(prompt, seen, '500') < options.faults.serverError) {
        record(500);
        return send(res, 500, { error: { message: 'The server had an error' } });
      }
      if (format?.type === 'json_schema' && format.json_schema?.strict && options.rejectStrict) {
        record(400);
        return send(res, 400, { error: { message: 'Invalid schema for response_format: strict mode is not supported', param: 'response_format' } });
      }
      record(200);
      const rule = (options.rules ?? []).find((r) =>
        typeof r.match === 'string' ? prompt.includes(r.match) : r.match instanceof RegExp ? r.match.test(prompt) : r.match(prompt),
      );
      const content = rule
        ? typeof rule.reply === 'function'
          ? rule.reply(prompt)
          : rule.reply
        : format?.type === 'json_schema' && format.json_schema?.schema
          ? simulateWithSchema(format.json_schema.schema, prompt.slice(prompt.lastIndexOf('# Input')))
          : simulate(prompt);
      const promptTokens = tokenizer.encode(prompt);
      const usage = {
        prompt_tokens: promptTokens.length,
        completion_tokens: tokenizer.count(content),
        total_tokens: 0,
        prompt_tokens_details: { cached_tokens: prefixCache.cachedTokens(promptTokens) },
      };
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      const answer = () =>
        send(res, 200, {
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: SIMULATOR_MODEL,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage,
        });
      if (options.latencyMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, options.latencyMs);
        timers.add(timer);
      } else answer();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}/v1`, requests, close, [Symbol.asyncDispose]: close };
}
