import { describe, expect, it } from 'vitest';
import { cutToEstimate, estimatedIds, estimateTokens } from '../src/token-estimate.js';
import { loadTokenizer } from '../src/tokens.js';
import { CORPUS as ANSWERS } from './fixtures/malformed-answers.js';
import { OTHER_SCRIPTS } from './fixtures/other-scripts.js';

// gpt-tokenizer is a devDependency here: these tests hold the estimate against the real o200k counts.
const o200k = await loadTokenizer();
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('the token estimate (gpt-tokenizer absent)', () => {
  it('is measured against o200k here (the tokenizer is installed for the tests)', () => {
    expect(o200k.kind).toBe('o200k');
  });

  it.each(OTHER_SCRIPTS.filter((s) => !s.random))('counts no fewer tokens than o200k: $name', ({ text }) => {
    expect(estimateTokens(text)).toBeGreaterThanOrEqual(o200k.count(text));
  });

  it('misses random strings (base64) by less than a quarter, the one kind of text it undercounts', () => {
    for (const { text } of OTHER_SCRIPTS.filter((s) => s.random)) {
      expect(estimateTokens(text)).toBeLessThan(o200k.count(text));
      expect(estimateTokens(text)).toBeGreaterThan(0.75 * o200k.count(text));
    }
  });

  it('counts no fewer tokens than o200k for any model answer of the fixtures, and at most half as many again in all', () => {
    const texts = ANSWERS.map((a) => a.text);
    for (const text of texts) expect(estimateTokens(text), text).toBeGreaterThanOrEqual(o200k.count(text));
    expect(sum(texts.map(estimateTokens))).toBeLessThan(1.5 * sum(texts.map((t) => o200k.count(t))));
  });

  it('counts a space before a word as part of it, other whitespace as a token, digits in threes', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('cat dog')).toBe(2);
    expect(estimateTokens('cat ')).toBe(2); // a trailing space joins nothing
    expect(estimateTokens('cat\n\ndog')).toBe(3);
    expect(estimateTokens('1234567')).toBe(3);
    expect(estimateTokens('id 42')).toBe(3); // a space before digits is a token of its own in o200k
    expect(estimateTokens('🙂')).toBe(2);
  });

  describe('cutting to a number of tokens', () => {
    const texts = [...OTHER_SCRIPTS.map((s) => s.text), ...ANSWERS.map((a) => a.text)];

    it('keeps a start of the text within the limit, never half a character', () => {
      for (const text of texts) {
        for (const max of [0, 1, 3, 7, 20]) {
          const cut = cutToEstimate(text, max);
          expect(text.startsWith(cut)).toBe(true);
          expect(estimateTokens(cut)).toBeLessThanOrEqual(max);
          const last = cut.charCodeAt(cut.length - 1);
          expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
        }
      }
    });

    it('leaves a text within the limit whole, and cuts inside a long word', () => {
      for (const text of texts) expect(cutToEstimate(text, estimateTokens(text))).toBe(text);
      expect(cutToEstimate('internationalization', 2)).toBe('internat');
      expect(cutToEstimate('cat dog', 1)).toBe('cat'); // not 'cat ': a trailing space would cost a token
      expect(cutToEstimate('東京の天気', 2)).toBe('東京');
      expect(cutToEstimate('🙂🙃', 3)).toBe('🙂');
    });
  });

  it('gives one stand-in id per estimated token, equal for equal texts, shared for a shared start', () => {
    for (const { text } of OTHER_SCRIPTS) expect(estimatedIds(text)).toHaveLength(estimateTokens(text));
    const prefix = 'You are a careful assistant. '.repeat(40);
    const a = estimatedIds(`${prefix}Classify: the app crashes.`);
    const b = estimatedIds(`${prefix}Classify: my invoice is wrong.`);
    const shared = estimatedIds(prefix.trimEnd()).length;
    expect(a.slice(0, shared)).toEqual(b.slice(0, shared));
    expect(a).not.toEqual(b);
    expect(estimatedIds('the same text')).toEqual(estimatedIds('the same text'));
  });
});

describe('the o200k tokenizer behind loadTokenizer()', () => {
  it('cuts to a number of tokens without splitting a character', () => {
    const text = '東京の天気は晴れです。🙂🙃 明日は雨が降るでしょう。';
    for (const max of [1, 2, 5, 9]) {
      const cut = o200k.cut(text, max);
      expect(text.startsWith(cut)).toBe(true);
      expect(o200k.count(cut)).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/\uFFFD/);
    }
    expect(o200k.cut(text, 1000)).toBe(text);
    expect(o200k.encode(text)).toHaveLength(o200k.count(text));
  });
});
