import { describe, expect, it } from 'vitest';
import { extractUsage, parseCreateData, parseEnvelope, parseJobData, protocolSchemas } from '../src/providers/shortapi/protocol.js';

/** What a parse gives, or that it threw. */
const outcome = (read: () => unknown) => {
  try {
    return { value: read() };
  } catch (error) {
    return { threw: (error as Error).message };
  }
};

/** Wrong types at each place, missing and extra members, the usual shapes, and numbers zod refuses (JSON's 1e400 parses to Infinity). */
const values: unknown[] = [
  null,
  undefined,
  0,
  -1,
  1.5,
  7,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  2 ** 53 - 1,
  1e20,
  '',
  'x',
  '0',
  true,
  [],
  {},
  [1],
  { a: 1 },
];
const shapes = (base: Record<string, unknown>, keys: readonly string[]): unknown[] => [
  base,
  { ...base, extra: { deep: true } },
  null,
  [],
  'text',
  {},
  ...keys.flatMap((key) => [(({ [key]: _, ...rest }) => rest)(base), ...values.map((v) => ({ ...base, [key]: v }))]),
];

describe("ShortAPI protocol: the hand checks give the schemas' verdicts", () => {
  it('the envelope', () => {
    for (const shape of shapes({ code: 0, msg: 'ok', message: 'fine', data: { job_id: 'j' } }, ['code', 'msg', 'message', 'data'])) {
      const zod = protocolSchemas.envelope.safeParse(shape);
      const got = outcome(() => parseEnvelope(shape));
      if (!zod.success) expect(got, JSON.stringify(shape)).toHaveProperty('threw');
      else expect(got, JSON.stringify(shape)).toEqual(outcome(() => parseEnvelope(zod.data)));
    }
  });

  it('the create answer', () => {
    for (const shape of shapes({ job_id: 'job_1', amount: '0.0001' }, ['job_id', 'amount'])) {
      const zod = protocolSchemas.createData.safeParse(shape);
      const got = outcome(() => parseCreateData(shape));
      if (!zod.success) expect(got, JSON.stringify(shape)).toHaveProperty('threw');
      else
        expect(got, JSON.stringify(shape)).toEqual({
          value: { jobId: String(zod.data.job_id), amountUsd: zod.data.amount === undefined ? undefined : String(zod.data.amount) },
        });
    }
  });

  it('the job answer', () => {
    const base = {
      status: 2,
      job_id: 'job_1',
      result: { text: 'hi' },
      msg: 'm',
      message: 'n',
      usage: { input_tokens: 3, output_tokens: 1 },
      amount: 0.5,
      model: 'x',
    };
    for (const shape of shapes(base, Object.keys(base))) {
      const zod = protocolSchemas.queryData.safeParse(shape);
      const got = outcome(() => parseJobData(shape));
      if (!zod.success) expect(got, JSON.stringify(shape)).toEqual({ threw: 'the job answer has no numeric `data.status`' });
      else expect(got, JSON.stringify(shape)).toEqual(outcome(() => parseJobData(zod.data)));
    }
  });

  it('usage, in both namings', () => {
    const base = {
      input_tokens: 10,
      output_tokens: 2,
      prompt_tokens: 11,
      completion_tokens: 3,
      cached_tokens: 1,
      input_tokens_details: { cached_tokens: 4 },
      prompt_tokens_details: { cached_tokens: 5 },
    };
    const detailShapes = values.map((v) => ({ ...base, input_tokens_details: { cached_tokens: v } }));
    for (const shape of [...shapes(base, Object.keys(base)), ...detailShapes]) {
      const zod = protocolSchemas.usage.safeParse(shape);
      const got = extractUsage(shape);
      if (!zod.success) expect(got, JSON.stringify(shape)).toBeUndefined();
      else expect(got, JSON.stringify(shape)).toEqual(extractUsage(zod.data));
    }
  });
});
