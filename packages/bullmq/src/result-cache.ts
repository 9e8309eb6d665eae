import type { CachedCompletion, CompletionResult } from '@shoal/core';
import type { Redis } from 'ioredis';
import { type CallJobResult, requestIdOf } from './protocol.js';

/** How long a finished result stays in the queue's result cache. */
const RESULT_CACHE_SECONDS = 86_400;

/**
 * The queue's result cache: a finished call's answer under its request's id (the BullMQ job
 * id of a cached call, 16 characters from the request key; a `refresh` call's job id without
 * its suffix, so the new answer replaces the old). The worker that ran the call writes it;
 * producers read it, for a whole batch of calls at once, before they queue them (add-batcher.ts),
 * so a worker never reads it.
 */
export function resultCacheKey(queue: string, jobId: string): string {
  return `shoal:${queue}:cache:${requestIdOf(jobId)}`;
}

/**
 * Caches a call's result, without waiting for Redis: the write leaves with the other commands
 * of the tick (the worker's connection writes once a tick), BullMQ's finish of the job among them. A write that fails costs a later identical call a job, never this
 * result; `onError` hears of it.
 */
export function cacheResult(redis: Redis, queue: string, jobId: string, result: CompletionResult, onError: (error: Error) => void): void {
  const entry: CachedCompletion = { text: result.text, jobId: result.jobId, usage: result.usage, costUsd: result.costUsd, model: result.model };
  redis.set(resultCacheKey(queue, jobId), JSON.stringify(entry), 'EX', RESULT_CACHE_SECONDS).catch(onError);
}

/** A cached entry (checked readable by the reading script) as a producer's call gets it: cached, nothing paid, nothing sent. */
export function cachedResult(text: string): CallJobResult {
  const entry = JSON.parse(text) as CachedCompletion;
  return {
    text: entry.text,
    jobId: entry.jobId ?? null,
    usage: entry.usage,
    model: entry.model ?? null,
    costUsd: 0,
    attempts: 0,
    requests: 0,
    cached: true,
    deduplicated: false,
    durationMs: 0,
    callId: '',
  };
}
