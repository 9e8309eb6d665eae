import { findSchema, hashString, seededRandom } from '@shoal/core/testing';

/** Options of `rankingJudge()`. */
export interface RankingJudgeOptions {
  /** The true relevance of a passage (higher is better), e.g. looked up from an id its text carries. */
  readonly relevance: (passage: string, query: string) => number;
  /** Standard deviation of the noise added to each relevance in each call, in relevance units. @default 0 */
  readonly noise?: number;
  /** Share of listwise and setwise answers with an id fault: one id left out, repeated or invented (in turn). @default 0 */
  readonly idFaults?: number;
  /** Maps a perceived relevance to the pointwise agent's 0-100 score. @default the relevance, clamped to 0-100 */
  readonly toScore?: (perceived: number) => number;
  /** Seed of the noise and the faults. @default 1 */
  readonly seed?: number;
}

/** A simulated ranking judge (from `rankingJudge()`): `match` and `reply` plug into an emulator rule or a scripted provider. */
export interface RankingJudge {
  /** True for a prompt of one of rank()'s agents. */
  match(prompt: string): boolean;
  /** The answer to such a prompt (JSON text). */
  reply(prompt: string): string;
  /** Answers given, by kind. */
  readonly answered: {
    /** Listwise answers. */
    listwise: number;
    /** Setwise answers. */
    setwise: number;
    /** Pointwise answers. */
    pointwise: number;
    /** Answers drawn for an id fault (only listwise and setwise answers then carry one). */
    faults: number;
  };
}

/**
 * A simulated ranking judge of known noise, for tests and evaluations: it reads the prompts
 * of rank()'s agents (listwise, setwise, pointwise, packed or not), looks up each passage's
 * true relevance, adds Gaussian noise drawn from the prompt (the same prompt gets the same
 * answer, whatever order calls arrive in), and answers in the agents'
 * formats, optionally with the id faults small models make. Plug `reply` into an emulator
 * rule or a scripted provider: the prompts, parsing and id repair are then the real code's.
 */
export function rankingJudge(options: RankingJudgeOptions): RankingJudge {
  const noise = options.noise ?? 0;
  const faultRate = options.idFaults ?? 0;
  const seed = options.seed ?? 1;
  const toScore = options.toScore ?? ((x: number) => Math.max(0, Math.min(100, x)));
  const answered = { listwise: 0, setwise: 0, pointwise: 0, faults: 0 };

  // match() and then reply() read the same prompt: the last reading is kept for the second.
  let last: { prompt: string; kind: ReturnType<typeof readKind> } | undefined;
  const kindOf = (prompt: string) => {
    if (last?.prompt !== prompt) last = { prompt, kind: readKind(prompt) };
    return last.kind;
  };
  const readKind = (prompt: string) => {
    const found = findSchema(prompt);
    if (!found) return undefined;
    const properties = (found.schema.properties ?? (found.schema.additionalProperties as { properties?: unknown } | undefined)?.properties) as
      | Record<string, unknown>
      | undefined;
    if (!properties) return undefined;
    if ('order' in properties) return { kind: 'listwise' as const, input: found.input };
    if ('best' in properties) return { kind: 'setwise' as const, input: found.input };
    if ('score' in properties) return { kind: 'pointwise' as const, input: found.input };
    return undefined;
  };

  const numbered = (input: string) => {
    const query = /^Query: (.*)$/m.exec(input)?.[1] ?? '';
    const passages = [...input.matchAll(/^\[(\d+)\] (.*)$/gm)].map((m) => m[2]!);
    return { query, passages };
  };

  return {
    answered,
    match: (prompt) => kindOf(prompt) !== undefined,
    reply(prompt) {
      const found = kindOf(prompt);
      if (!found) throw new Error('rankingJudge: not a prompt of rank()');
      // Noise drawn from the prompt itself: the same prompt gets the same answer (like temperature 0),
      // and results do not depend on the order in which concurrent calls arrive.
      const random = seededRandom(seed ^ hashString(prompt));
      const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      const perceive = (passage: string, query: string) => options.relevance(passage, query) + (noise > 0 ? noise * gaussian() : 0);
      const fault = faultRate > 0 && random() < faultRate;
      if (fault) answered.faults++;
      if (found.kind === 'pointwise') {
        answered.pointwise++;
        const body = /```json\s*\n([\s\S]*?)\n```/.exec(found.input)?.[1] ?? '{}';
        const value = JSON.parse(body) as Record<string, unknown>;
        const score = (item: { query: string; passage: string }) => ({ score: Math.round(toScore(perceive(item.passage, item.query)) * 100) / 100 });
        if (typeof value.passage === 'string') return JSON.stringify(score(value as { query: string; passage: string }));
        return JSON.stringify(Object.fromEntries(Object.entries(value).map(([id, item]) => [id, score(item as { query: string; passage: string })])));
      }
      const { query, passages } = numbered(found.input);
      const perceived = passages.map((p) => perceive(p, query));
      // Best first; ties keep the shown order (a noiseless judge is then deterministic).
      const order = passages
        .map((_, i) => i)
        .sort((a, b) => perceived[b]! - perceived[a]! || a - b)
        .map((i) => i + 1);
      if (found.kind === 'setwise') {
        answered.setwise++;
        return JSON.stringify({ best: fault ? passages.length + 1 : order[0] });
      }
      answered.listwise++;
      if (fault) {
        const turn = Math.floor(random() * 3);
        if (turn === 0)
          order.splice(Math.floor(random() * order.length), 1); // one left out
        else if (turn === 1)
          order.splice(Math.floor(random() * order.length), 0, order[Math.floor(random() * order.length)]!); // one repeated
        else order.splice(Math.floor(random() * order.length), 0, passages.length + 1 + Math.floor(random() * 5)); // one invented
      }
      return JSON.stringify({ order });
    },
  };
}
