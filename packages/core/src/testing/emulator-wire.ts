import http from 'node:http';
import type { EmulatorJob, EmulatorOptions } from './emulator-types.js';
import { SIMULATOR_MODEL } from './simulator.js';

/** What a query (or a callback) says about a job, in the shape protocol-notes.md describes. */
export function jobData(job: EmulatorJob, options: EmulatorOptions): Record<string, unknown> {
  if (job.status === 3) return { job_id: job.id, status: 3, error: job.reply.fail };
  if (job.status !== 2) return { job_id: job.id, status: job.status };
  const usage = {
    input_tokens: job.reply.inputTokens,
    output_tokens: job.reply.outputTokens,
    input_tokens_details: { cached_tokens: job.reply.cachedInputTokens },
  };
  const text = job.reply.text;
  const shape = options.resultShape ?? 'text';
  let result: unknown;
  if (shape === 'string') result = text;
  else if (shape === 'choices') result = { choices: [{ message: { role: 'assistant', content: text } }] };
  else result = { [shape]: text };
  if (typeof result === 'object' && result !== null) {
    (result as Record<string, unknown>).model = SIMULATOR_MODEL;
    if (options.reportUsage !== false) (result as Record<string, unknown>).usage = usage;
  }
  return { job_id: job.id, status: 2, result };
}

/** POSTs a job's callback to its URL, on loopback only. True when it was sent. */
export function postCallback(job: EmulatorJob, data: Record<string, unknown>, agent: http.Agent): boolean {
  if (!job.callbackUrl) return false;
  let target: URL;
  try {
    target = new URL(job.callbackUrl);
  } catch {
    return false;
  }
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost' && target.hostname !== '[::1]') return false; // loopback only
  const body = JSON.stringify({ code: 0, data });
  job.callbacksSent++;
  const req = http.request(target, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  req.on('response', (r) => r.resume());
  req.on('error', () => {});
  req.end(body);
  return true;
}
