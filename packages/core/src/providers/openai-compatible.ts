import { type Issue, ProtocolError, ShoalConfigError } from '../errors.js';
import { HttpClient, type HttpResponse } from '../http/http-client.js';
import { zodIssues } from '../structured/structured-output.js';
import { type Check, checkOptions, expectHttpUrl, expectNumber, option } from '../util/options.js';
import { rawForError, withoutSecrets } from '../util/redact.js';
import { type Completion, completionSchema, isPlainCompletion } from './chat-answer.js';
import { failureError, type RequestContext, throwForStatus } from './http-errors.js';
import { type ModelPrices, type Pricing, providerPrices } from './prices.js';
import { extractUsage } from './shortapi/protocol.js';
import { abortErrorOf, type CompletionRequest, type ModelProvider, type ProviderCallContext, type ProviderResult, type Usage } from './types.js';

/**
 * A provider for OpenAI's chat completions endpoint and everything that speaks it (vLLM,
 * llama.cpp's server, Ollama). Structured output goes as `response_format: json_schema`,
 * strict where the schema allows it; where it does not (optional fields, unions), or where
 * the server refuses the schema, the prompt (which always states the schema) carries it.
 */
export interface OpenAICompatibleOptions {
  /** Up to and including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseURL: string;
  /** Sent as a bearer token when given (local servers often need none). */
  readonly apiKey?: string;
  /** The model to ask, as the server names it (e.g. `gpt-4.1-nano`). */
  readonly model: string;
  /**
   * `auto`: strict json_schema when the schema allows it, else prompting; `strict`: always
   * send the schema (non-strict when strict is impossible); `prompt`: never send it.
   * @default 'auto'
   */
  readonly structuredOutputs?: 'auto' | 'strict' | 'prompt';
  /** Extra headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 120000 */
  readonly requestTimeoutMs?: number;
  /** @default 256 */
  readonly maxSockets?: number;
  /**
   * The model's prices in USD per million tokens. @default the known prices of `model`, if
   * it has any; else its calls are counted as unpriced (`totals.unpricedCalls`), never at
   * another model's prices, and a budget is refused.
   */
  readonly pricing?: Pricing;
}

const OPTIONS = {
  // Checked in the constructor, with the key to keep out of the message.
  baseURL: option.any(),
  apiKey: option.string({ secret: true }),
  model: option.string({ nonEmpty: true, example: 'gpt-4.1-nano' }),
  structuredOutputs: option.oneOf(['auto', 'strict', 'prompt'] as const),
  headers: option.stringRecord(),
  requestTimeoutMs: option.number({ min: 1 }),
  maxSockets: option.number({ min: 1, integer: true }),
  // Checked in the constructor, against the model's known prices.
  pricing: option.any(),
} satisfies Record<keyof OpenAICompatibleOptions, Check>;

/** A provider for OpenAI's chat completions endpoint and the servers that speak it (vLLM, llama.cpp's server, Ollama). `ShoalConfigError` on a wrong option. */
export function openAICompatible(options: OpenAICompatibleOptions): OpenAICompatibleProvider {
  return new OpenAICompatibleProvider(options);
}

export class OpenAICompatibleProvider implements ModelProvider {
  readonly specificationVersion = 'shoal.provider.v1' as const;
  readonly name = 'openai-compatible';
  /** Aborting a call closes its request: the server stops the completion. */
  readonly cancelsWork = true;
  readonly model: string;
  /** The model's prices: the `pricing` option over the known ones; undefined when unknown. */
  readonly pricing: Required<ModelPrices> | undefined;
  /** The base URL requests go to. */
  readonly baseURL: string;
  readonly #apiKey: string | undefined;
  /** The base URL's origin, for errors (made once: `new URL()` is not free). */
  readonly #origin: string;
  readonly #http: HttpClient;
  readonly #mode: 'auto' | 'strict' | 'prompt';
  /** Schemas this server refused as response_format: sent by prompt from then on. */
  readonly #refused = new WeakSet<object>();
  readonly #formats = new WeakMap<object, { name: string; json: string }>();
  /** The request body up to the model's name, made once. */
  readonly #bodyStart: string;

  constructor(options: OpenAICompatibleOptions) {
    if (typeof options !== 'object' || options === null)
      throw new ShoalConfigError('openAICompatible() takes one options object: { baseURL, model, apiKey? }.');
    const apiKey = typeof options.apiKey === 'string' ? options.apiKey : undefined;
    try {
      checkOptions('openAICompatible()', options, OPTIONS);
    } catch (error) {
      // A key put in the wrong option must not be quoted back.
      throw ShoalConfigError.isInstance(error) ? new ShoalConfigError(withoutSecrets(error.message, [apiKey])) : error;
    }
    this.baseURL = expectHttpUrl('baseURL', options.baseURL, [apiKey], 'Pass the key as `apiKey` to openAICompatible(): it is sent as a bearer token.');
    if (options.model === undefined) throw new ShoalConfigError('openAICompatible() needs `model`, e.g. "gpt-4.1-nano" or the name your server serves.');
    this.model = options.model;
    this.#bodyStart = `{"model":${JSON.stringify(options.model)}`;
    this.#origin = new URL(this.baseURL).origin;
    this.pricing = providerPrices('openAICompatible()', options.pricing, options.model);
    if (apiKey !== undefined && /\s/.test(apiKey))
      throw new ShoalConfigError('Expected `apiKey` to be a string without white space: check how the key was set.');
    this.#apiKey = apiKey || undefined;
    this.#mode = options.structuredOutputs ?? 'auto';
    this.#http = new HttpClient({
      baseURL: this.baseURL,
      headers: { ...options.headers, ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}), accept: 'application/json' },
      timeoutMs: expectNumber('requestTimeoutMs', options.requestTimeoutMs ?? 120_000, { min: 1 }),
      maxSockets: expectNumber('maxSockets', options.maxSockets ?? 256, { min: 1, integer: true }),
    });
  }

  async doComplete(request: CompletionRequest, context: ProviderCallContext): Promise<ProviderResult> {
    let responseFormat = this.#responseFormat(request);
    let requests = 0;
    let response: HttpResponse;
    // One request, or two when the server refuses the schema as response_format (written inline: no async layer per call).
    for (;;) {
      requests++;
      // Built before the request is counted: a body that cannot be built sends nothing.
      const body = this.#body(request, responseFormat);
      context.onRequest?.('create');
      try {
        response = await this.#http.send({ method: 'POST', path: '/chat/completions', body, signal: context.signal });
      } catch (error) {
        throw failureError(error, this.#context(context.signal));
      }
      context.onAnswer?.(response.status);
      if (response.status === 400 && responseFormat && request.output && /response_format|json_schema|schema|strict/i.test(response.body)) {
        // The prompt states the schema anyway: ask again without it, and from now on for this schema.
        this.#refused.add(request.output.schema);
        responseFormat = '';
        continue;
      }
      break;
    }
    if (response.status < 200 || response.status > 299) throwForStatus(response, this.#context(context.signal));
    let payload: unknown;
    try {
      payload = JSON.parse(response.body);
    } catch {
      throw this.#protocolError('the answer is not JSON', response.body, [{ code: 'invalid_json', path: [], message: 'the body does not parse as JSON' }]);
    }
    // The usual answer is checked by hand (the hot path); anything else goes through the schema, for its issues.
    let completion: Completion;
    if (isPlainCompletion(payload)) completion = payload;
    else {
      const parsed = completionSchema.safeParse(payload);
      if (!parsed.success) throw this.#protocolError('the answer has no choices[0].message', response.body, zodIssues(parsed.error));
      completion = parsed.data;
    }
    const message = completion.choices[0]!.message;
    if (typeof message.content !== 'string') {
      const why = message.refusal ? `the model refused: ${rawForError(message.refusal, [this.#apiKey], 300)}` : 'the answer has no text content';
      throw this.#protocolError(why, response.body, [
        { code: message.refusal ? 'refused' : 'no_text', path: ['choices', 0, 'message', 'content'], message: why },
      ]);
    }
    const usage = extractUsage(completion.usage);
    const result: { text: string; usage?: Usage; requests: number; model?: string } = {
      // A server that echoes the key back must not put it in a result: there is none to look for without one.
      text: this.#apiKey === undefined ? message.content : withoutSecrets(message.content, [this.#apiKey]),
      requests,
    };
    if (usage) result.usage = usage;
    if (completion.model) result.model = completion.model;
    return result;
  }

  async close(): Promise<void> {
    this.#http.close();
  }

  /** What errors say of a request; worded only when one is thrown. */
  #context(signal: AbortSignal): RequestContext {
    return {
      service: 'the OpenAI-compatible server',
      origin: this.#origin,
      where: 'chat completion',
      paid: true,
      keyHint: 'check the apiKey given to openAICompatible()',
      secrets: [this.#apiKey],
      abortError: abortErrorOf(signal, this),
    };
  }

  /** The `response_format` member as JSON text, or '' to send none. Built once per schema: agents reuse theirs on every call. */
  #responseFormat(request: CompletionRequest): string {
    const output = request.output;
    if (!output || this.#mode === 'prompt' || this.#refused.has(output.schema)) return '';
    let cached = this.#formats.get(output.schema);
    if (cached === undefined || cached.name !== output.name) {
      const strict = isStrictCompatible(output.schema);
      const json =
        !strict && this.#mode === 'auto' ? '' : JSON.stringify({ type: 'json_schema', json_schema: { name: output.name, schema: output.schema, strict } });
      cached = { name: output.name, json };
      this.#formats.set(output.schema, cached);
    }
    return cached.json;
  }

  /** The request body, assembled as text so the (large, constant) schema is not serialised again on every call. */
  #body(request: CompletionRequest, responseFormat: string): string {
    const args = request.args ? JSON.stringify(request.args).slice(1, -1) : '';
    return `${this.#bodyStart}${args ? `,${args}` : ''},"messages":[{"role":"user","content":${JSON.stringify(request.prompt)}}]${responseFormat ? `,"response_format":${responseFormat}` : ''}}`;
  }

  #protocolError(message: string, body: string, issues: readonly Issue[]) {
    return new ProtocolError(`The OpenAI-compatible server's answer does not fit: ${message}`, rawForError(body, [this.#apiKey]), issues, false, {});
  }
}

const UNSUPPORTED_IN_STRICT = [
  'allOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'patternProperties',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'prefixItems',
];

/**
 * Whether OpenAI's strict mode accepts a JSON Schema: an object at the root, every object
 * closed (`additionalProperties: false`) with every property required, and no keyword
 * strict mode rejects. Optional fields are the usual reason it does not.
 */
export function isStrictCompatible(schema: Readonly<Record<string, unknown>>): boolean {
  if (schema.type !== 'object') return false;
  const visit = (node: unknown, depth: number): boolean => {
    if (depth > 64) return false;
    if (Array.isArray(node)) return node.every((n) => visit(n, depth + 1));
    if (typeof node !== 'object' || node === null) return true;
    const n = node as Record<string, unknown>;
    if (UNSUPPORTED_IN_STRICT.some((k) => k in n)) return false;
    const isObject = n.type === 'object' || (Array.isArray(n.type) && n.type.includes('object'));
    if (isObject) {
      const keys = Object.keys((n.properties as Record<string, unknown> | undefined) ?? {});
      const required = Array.isArray(n.required) ? (n.required as string[]) : [];
      if (n.additionalProperties !== false || keys.some((k) => !required.includes(k))) return false;
    }
    for (const [key, value] of Object.entries(n)) {
      if (key === 'properties' || key === '$defs' || key === 'definitions') {
        if (!Object.values(value as Record<string, unknown>).every((v) => visit(v, depth + 1))) return false;
      } else if (key === 'items' || key === 'anyOf' || key === 'additionalProperties') {
        if (!visit(value, depth + 1)) return false;
      }
    }
    return true;
  };
  return visit(schema, 0);
}
