// How many assets a filter search matches, when the limit cut the list: counted exactly up to 5,000,
// then a lower bound. A --near circle at 1M made the planner guess 882 matches where 72k were found, and
// the unbounded count read all of them (0.96 s); here 5,100 assets inside the circle stand for them.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContext, type Context } from '../../src/context.js';
import { sql } from '../../src/db/kysely.js';
import { Logger } from '../../src/logger.js';
import { search } from '../../src/services/search.js';
import { parseSelection } from '../../src/services/selection.js';
import { createPgDatabase, tmpDir } from '../helpers/env.js';

describe('search counts on PostgreSQL', () => {
  let lib: string;
  let ctx: Context;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    lib = tmpDir('immich-search-count-');
    const db = await createPgDatabase('immich_search_count');
    drop = db.drop;
    ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: lib, ...db.env }, cwd: lib }), new Logger('error', []), { command: 'test', concurrency: 2 });
    await sql`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at)
      select md5(i::text), '/src/' || i || '.jpg', i || '.jpg', 'uploads/c/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now(),
             timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute'
      from generate_series(1, 5100) i`.execute(ctx.db);
    // all within 2 km of Helsinki's centre, 20 of them near Paris
    await sql`insert into exif (asset_id, latitude, longitude)
      select id, case when n <= 20 then 48.85 else 60.17 + (n % 100) * 0.0001 end, case when n <= 20 then 2.35 else 24.94 end
      from (select id, row_number() over (order by checksum) as n from assets) a`.execute(ctx.db);
  });
  afterAll(async () => {
    await ctx?.close();
    await drop?.();
    fs.rmSync(lib, { recursive: true, force: true });
  });

  const near = async (where: string, limit: number) => search(ctx, await parseSelection({ near: where, limit: String(limit) }));

  it('--text: a full page of whole-word OCR matches comes newest first without ranking every match', async () => {
    // 30 signs with the word, 3 with it inside a longer one; assets are numbered by capture time
    await sql`insert into asset_ocr (asset_id, engine, text, confidence)
      select id, 'paddle', case when n <= 30 then 'PHARMACY OPEN ' || n else 'XPHARMACYX' end, 0.9
      from (select id, row_number() over (order by taken_at) as n from assets where original_name ~ '^(1[0-9]{3})[.]jpg$') a where n <= 33`.execute(ctx.db);
    const text = async (limit: number) => search(ctx, await parseSelection({ text: 'Pharmacy', limit: String(limit) }));
    const page = await text(5);
    expect(page.hits.map((h) => h.originalName)).toEqual(['1029.jpg', '1028.jpg', '1027.jpg', '1026.jpg', '1025.jpg']);
    expect(page).toMatchObject({ mode: 'ocr', total: 33 });
    // more than the whole-word matches: every match, ranked by similarity (whole words first)
    const all = await text(40);
    expect(all.hits).toHaveLength(33);
    expect(all.hits.slice(0, 30).every((h) => /^10[0-2][0-9][.]jpg$/.test(h.originalName))).toBe(true);
    expect(all.total).toBe(33);
  });

  it('counts exactly up to 5,000 matches, and says "at least" past them instead of reading every match', async () => {
    const few = await near('48.85,2.35,5', 5);
    expect(few.hits).toHaveLength(5);
    expect(few).toMatchObject({ total: 20 });
    expect(few.totalAtLeast).toBeUndefined();
    const many = await near('60.17,24.94,5', 5);
    expect(many.hits).toHaveLength(5);
    // the planner may estimate the circle either way: an estimate over 5,000 is "about", a count stops at 5,001
    if (many.totalEstimated) expect(many.total).toBeGreaterThan(5000);
    else expect(many).toMatchObject({ total: 5001, totalAtLeast: true });
  });
});
