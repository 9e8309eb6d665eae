import { describe, expect, it } from 'vitest';
import { AgentCache, keyOf } from '../src/util/agent-cache.js';

describe("the ready-made agents' cache of built agents", () => {
  it('builds once per key and reuses the agent', () => {
    const cache = new AgentCache<{ key: string }>(4);
    let builds = 0;
    const a = cache.get('a', () => ({ key: `a${++builds}` }));
    expect(cache.get('a', () => ({ key: `a${++builds}` }))).toBe(a);
    expect(builds).toBe(1);
  });

  it('drops the least recently used entry past its bound', () => {
    const cache = new AgentCache<string>(2);
    const built: string[] = [];
    const get = (key: string) =>
      cache.get(key, () => {
        built.push(key);
        return key;
      });
    get('a');
    get('b');
    get('a'); // a is now the most recently used
    get('c'); // drops b
    expect(cache.size).toBe(2);
    get('a');
    get('b'); // built again
    expect(built).toEqual(['a', 'b', 'c', 'b']);
  });

  it('keys objects by identity, not by how they look', () => {
    const one = { shape: 'x' };
    const same = { shape: 'x' };
    expect(keyOf(one)).toBe(keyOf(one));
    expect(keyOf(one)).not.toBe(keyOf(same));
  });
});
