// The pure decisions of Redis mode and `immich index`, without I/O: queue settings from the
// environment, queue lists, which stages an asset needs, and the folders an in-place sync walks.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { concurrencyVariable, parseQueueList, queueSettings } from '../../src/jobs/redis-settings.js';
import { ALL_QUEUES } from '../../src/jobs/types.js';
import { jobsForAsset, rootFolders } from '../../src/services/index.js';

describe('queue settings', () => {
  it('defaults: prefix immich, 3 attempts, Immich per-queue concurrency; env overrides; bad values are usage errors', () => {
    const d = queueSettings({ raw: {} });
    expect(d).toMatchObject({ prefix: 'immich', attempts: 3, backoffMs: 5000, lockDurationMs: 30000 });
    expect(d.concurrency).toMatchObject({ metadata: 5, thumbnails: 3, video: 1, 'smart-search': 2 });
    expect(concurrencyVariable('smart-search')).toBe('IMMICH_QUEUE_CONCURRENCY_SMART_SEARCH');
    const s = queueSettings({ raw: { IMMICH_REDIS_PREFIX: 'lib2', IMMICH_QUEUE_CONCURRENCY_SMART_SEARCH: '7', IMMICH_QUEUE_ATTEMPTS: '5' } });
    expect(s).toMatchObject({ prefix: 'lib2', attempts: 5 });
    expect(s.concurrency['smart-search']).toBe(7);
    expect(() => queueSettings({ raw: { IMMICH_QUEUE_CONCURRENCY_VIDEO: '0' } })).toThrow(UsageError);
    expect(() => queueSettings({ raw: { IMMICH_REDIS_PREFIX: 'a:b' } })).toThrow(/IMMICH_REDIS_PREFIX/);
  });

  it('--queues lists', () => {
    expect(parseQueueList(undefined)).toEqual([...ALL_QUEUES]);
    expect(parseQueueList('all')).toEqual([...ALL_QUEUES]);
    expect(parseQueueList('thumbnails, video,thumbnails')).toEqual(['thumbnails', 'video']);
    expect(() => parseQueueList('thumbs')).toThrow(/unknown queue 'thumbs'/);
  });
});

describe('index planning', () => {
  const image = { id: 'a', type: 'image' as const };
  const video = { id: 'v', type: 'video' as const };
  const st = (o: Record<string, string>) => new Map(Object.entries(o));

  it('--missing without --jobs: the first stages of the chain that are not done', () => {
    expect(jobsForAsset(image, st({}), { mode: 'missing' }).map((j) => j.stage)).toEqual(['metadata']);
    expect(jobsForAsset(video, st({ metadata: 'done' }), { mode: 'missing' }).map((j) => j.stage).sort()).toEqual(['thumbnails', 'video']);
    const afterThumbs = jobsForAsset(image, st({ metadata: 'done', thumbnails: 'done', ocr: 'done', objects: 'skipped' }), { mode: 'missing' });
    expect(afterThumbs.map((j) => j.stage).sort()).toEqual(['face-detection', 'objects', 'smart-search']);
    expect(afterThumbs.every((j) => !j.force)).toBe(true);
  });

  it('--jobs: exactly those stages for assets that miss them; --force: all of them, forced; video only for videos', () => {
    expect(jobsForAsset(image, st({ metadata: 'done' }), { mode: 'missing', stages: ['metadata', 'thumbnails', 'video'] }).map((j) => j.stage)).toEqual(['thumbnails']);
    const forced = jobsForAsset(video, st({ metadata: 'done', thumbnails: 'done', video: 'done' }), { mode: 'force', stages: ['thumbnails', 'video'] });
    expect(forced).toEqual([{ stage: 'thumbnails', assetId: 'v', force: true }, { stage: 'video', assetId: 'v', force: true }]);
    expect(jobsForAsset(image, st({}), { mode: 'force' }).map((j) => j.stage)).not.toContain('video');
  });

  it('in-place roots: the smallest set of folders covering every file', () => {
    expect(rootFolders(['/p/a/1.jpg', '/p/a/b/2.jpg', '/p/ab/3.jpg', '/q/4.jpg'])).toEqual(['/p/a', '/p/ab', '/q']);
  });
});
