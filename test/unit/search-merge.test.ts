// CLIP-mode free text (issue 21): exact people/album/tag/description matches first, then CLIP's ranking.
import { describe, expect, it } from 'vitest';
import { mergeNamed } from '../../src/services/search.js';

describe('mergeNamed', () => {
  it('lists named matches first, marks those CLIP also found, and keeps the limit', () => {
    const named = [{ id: 'b', score: 1.4, matched: ['person:Bob', 'name'] }];
    const clip = [
      { id: 'a', score: 0.9, matched: ['clip'] },
      { id: 'b', score: 0.8, matched: ['clip'] },
      { id: 'c', score: 0.7, matched: ['clip'] },
    ];
    expect(mergeNamed(named, clip, 3)).toEqual([
      { id: 'b', score: 1.4, matched: ['person:Bob', 'clip'] },
      { id: 'a', score: 0.9, matched: ['clip'] },
      { id: 'c', score: 0.7, matched: ['clip'] },
    ]);
    expect(mergeNamed([], clip, 2).map((s) => s.id)).toEqual(['a', 'b']);
  });
});
