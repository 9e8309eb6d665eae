/**
 * A stand-in triage model for tests: it answers classify() prompts, packed or not, by
 * keywords, with a confidence, and "other" for a ticket no keyword matches (when the
 * prompt offers it). Multi-label prompts get every matching label.
 */
const KEYWORDS: [string, RegExp][] = [
  ['billing', /invoice|charge|refund|payment/i],
  ['bug', /crash|error|broken|bug/i],
  ['account', /password|login|account|email change/i],
];

export function isClassifyPrompt(prompt: string): boolean {
  return prompt.includes('Classify the text');
}

export function triageReply(prompt: string): string {
  const multi = prompt.includes('every label below that applies');
  const offersOther = /answer "other"/.test(prompt);
  const withConfidence = prompt.includes('how sure you are');
  const body = [...prompt.matchAll(/```json\s*\n([\s\S]*?)\n```/g)].at(-1)?.[1] ?? '{}';
  const value = JSON.parse(body) as Record<string, unknown>;
  const answer = (text: string) => {
    const hits = KEYWORDS.filter(([, re]) => re.test(text)).map(([label]) => label);
    const confidence = text.includes('maybe') ? 0.3 : 0.9;
    if (multi) return { labels: withConfidence ? hits.map((label) => ({ label, confidence })) : hits };
    const label = hits[0] ?? (offersOther ? 'other' : 'bug');
    return withConfidence ? { label, confidence } : { label };
  };
  if (typeof value.text === 'string') return JSON.stringify(answer(value.text));
  return JSON.stringify(Object.fromEntries(Object.entries(value).map(([id, input]) => [id, answer((input as { text: string }).text)])));
}
