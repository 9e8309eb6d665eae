import type { CompletionRequest, ModelProvider, ProviderResult } from '@shoal/core';
import { PrefixCache } from '@shoal/core/internal';
import { simulate, simulateWithSchema } from '@shoal/core/testing';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';

export interface DryRunOptions {
  /** The model the real run would use (prices and the report name it). */
  readonly model: string;
  /** Expected output tokens per call, instead of the estimate from the output schema. */
  readonly outputTokens?: number;
}

/**
 * The provider of `--dry-run`: it sends nothing. Each call's prompt is counted with the
 * tokenizer (o200k, the model family's), the part a provider prefix cache would serve is
 * counted as cached (the vendor's rule: 1,024 tokens, then steps of 128, for a prefix seen
 * before), and the answer is a value generated from the call's output schema (the
 * emulator's simulator), whose tokens are the expected output. So the executor, the agents'
 * packing and re-asks, and the ledger run exactly as in the real run; only the answers are
 * stand-ins. Free text in the output (reasons, summaries) is where a real model writes more:
 * `--output-tokens` sets the figure instead.
 */
export function dryRunProvider(options: DryRunOptions): ModelProvider {
  const prefixes = new PrefixCache();
  return {
    specificationVersion: 'shoal.provider.v1',
    name: 'dry-run',
    model: options.model,
    async doComplete(request: CompletionRequest): Promise<ProviderResult> {
      const tokens = encode(request.prompt);
      const text = request.output ? simulateWithSchema(request.output.schema, request.prompt) : simulate(request.prompt);
      const outputTokens = options.outputTokens ?? encode(text).length;
      return {
        text,
        requests: 0,
        model: options.model,
        usage: { inputTokens: tokens.length, cachedInputTokens: prefixes.cachedTokens(tokens), outputTokens },
      };
    },
  };
}
