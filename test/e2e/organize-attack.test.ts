// Attacks on `immich edit` (issue 15) on PostgreSQL: an edit while an import adds assets, a kill -9
// in the middle of a 20k-asset edit (one transaction: all or nothing), and unknown names (exit 2,
// nothing changed).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, createPgDatabase, PG_HOST, PG_PORT, PG_USER, pgEnv, runCli, tmpDir } from '../helpers/env.js';

let base = '';
let env: Record<string, string> = {};
let drop = async () => {};
let client: pg.Client;
const q = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[];
const cli = (args: string[]) => runCli(args, env);

async function jpegs(dir: string, n: number, offset = 0): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const k = i + offset;
    await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: (k * 37) % 256, g: (k * 91) % 256, b: (k * 13) % 256 } } })
      .withExif({ IFD2: { DateTimeOriginal: `2020:01:01 10:${String(k % 60).padStart(2, '0')}:00` } })
      .jpeg()
      .toFile(path.join(dir, `p${k}.jpg`));
  }
}

beforeAll(async () => {
  base = tmpDir('organize-attack-');
  const db = await createPgDatabase('organize');
  drop = db.drop;
  env = { ...pgEnv(db.name), UPLOAD_LOCATION: path.join(base, 'lib') };
  await jpegs(path.join(base, 'first'), 2);
  const r = await cli(['import', '--skip-ml', path.join(base, 'first')]);
  expect(r.code, r.stderr).toBe(0);
  client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: PG_USER, database: db.name });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await drop();
  fs.rmSync(base, { recursive: true, force: true });
});

describe('immich edit under attack (postgres)', () => {
  it('an edit of the whole library while an import adds assets: both finish, every asset the edit saw is tagged', async () => {
    await jpegs(path.join(base, 'more'), 40, 100);
    const importing = cli(['import', '--skip-ml', path.join(base, 'more')]);
    const edits: Array<{ code: number; changed: number; selected: number }> = [];
    for (let i = 0; i < 4; i++) {
      const r = await cli(['--json', 'edit', '--all', '--tag', 'Live', '--rating', String(1 + (i % 2))]);
      // exit 1 only for sidecars exiftool could not write in time on a loaded machine (the database has the edit)
      expect([0, 1], r.stderr).toContain(r.code);
      for (const line of r.stderr.split('\n').filter((l) => l.includes('.xmp'))) expect(line).toMatch(/sidecar not written/);
      const j = JSON.parse(r.stdout);
      edits.push({ code: r.code, changed: j.changed, selected: j.selected });
    }
    expect((await importing).code).toBe(0);
    // each edit changed every asset it selected (the rating flips each time)
    for (const e of edits) expect(e.changed).toBe(e.selected);
    const last = JSON.parse((await cli(['--json', 'edit', '--all', '--tag', 'Live', '--dry-run'])).stdout);
    expect(last.selected).toBe(42);
    const [row] = await q<{ n: number }>(`select count(*)::int n from asset_user_tags t join user_tags u on u.id = t.tag_id where u.value = 'Live'`);
    expect(row!.n).toBe(42);
  });

  it('kill -9 during an edit of 20k assets: nothing half-applied', async () => {
    await q(`insert into assets (checksum, original_path, original_name, library_path, storage_mode, type, mime_type, file_size, file_mtime, taken_at)
      select md5('k' || i), '/src/k/' || i || '.jpg', i || '.jpg', 'uploads/k/' || i || '.jpg', 'copy', 'image', 'image/jpeg', 1000, now(), now() from generate_series(1, 20000) i`);
    const [{ n: total }] = await q<{ n: number }>('select count(*)::int n from assets');
    const child = spawn(process.execPath, [BIN, 'edit', '--all', '--tag', 'Killed', '--description', 'half?'], {
      env: { ...process.env, ...env, CI: 'true' },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('close', r));
    // kill it while the edit's statement runs (the tag rows being written)
    let seen = false;
    for (let i = 0; i < 2000 && !seen; i++) {
      const rows = await q(`select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like '%asset_user_tags%'`);
      seen = rows.length > 0;
      if (!seen) await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen).toBe(true);
    child.kill('SIGKILL');
    await exited;
    // the server notices the client is gone and rolls back
    for (let i = 0; i < 600; i++) {
      const rows = await q(`select 1 from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
      if (!rows.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const counts = await q<{ tags: number; described: number; marked: number }>(`select
      (select count(*)::int from asset_user_tags t join user_tags u on u.id = t.tag_id where u.value = 'Killed') tags,
      (select count(*)::int from assets where description = 'half?') described,
      (select count(*)::int from asset_edits where edited_at > now() - interval '1 hour' and asset_id in (select id from assets where original_path like '/src/k/%')) marked`);
    const c = counts[0]!;
    // all or nothing: either the kill came before the commit (nothing) or after it (everything)
    expect([0, total]).toContain(c.tags);
    expect(c.described).toBe(c.tags);
    expect(c.marked).toBe(c.tags === 0 ? 0 : 20000);
  });

  it('unknown tag, album or person names: exit 2 naming the value, nothing changed', async () => {
    const snapshot = async () => JSON.stringify(await q(`select (select count(*) from asset_user_tags) t, (select count(*) from asset_edits) e, (select count(*) from user_tags) u, (select count(*) from assets where is_favorite) f`));
    const before = await snapshot();
    for (const [args, re] of [
      [['edit', '--all', '--untag', 'Nonesuch'], /--untag Nonesuch/],
      [['edit', '--all', '--has-tag', 'Nonesuch', '--tag', 'New'], /--tag Nonesuch/],
      [['edit', '--album', 'Nowhere', '--tag', 'New'], /--album Nowhere/],
      [['edit', '--all', '--person', 'Nobody', '--favorite'], /--person Nobody/],
    ] as Array<[string[], RegExp]>) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await snapshot()).toBe(before);
  });
});
