// Faces on the machine's PostgreSQL with pgvector (the multi-process mode): detection writes face
// embeddings, clustering finds neighbours with pgvector's kNN, and naming, merging and searching by
// person work as on the embedded database. Two identities of the corpus keep it short.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, SHARED_MODELS, createPgDatabase, noteSkip, runCli, tmpDir } from '../helpers/env.js';
import { withLibraryDb } from '../e2e/import-helpers.js';

const IDENTITIES = ['jack_dorsey', 'katy_perry'];

describe.skipIf(!CORPUS || !SHARED_MODELS)('faces on PostgreSQL with pgvector', () => {
  const lib = tmpDir('immich-faces-pg-');
  const src = tmpDir('immich-faces-pg-src-');
  let env: Record<string, string>;
  let dbEnv: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createPgDatabase('immich_faces_vec');
    ({ env: dbEnv, drop } = db);
    env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'models'), ...dbEnv };
    for (const who of IDENTITIES) fs.cpSync(path.join(CORPUS!, 'faces', who), path.join(src, who), { recursive: true });
    expect((await runCli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', SHARED_MODELS!], env)).code).toBe(0);
    const imp = await runCli(['import', '--skip-ml', src], env);
    expect(imp.code, imp.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => drop?.());

  it('detects, clusters each identity into one person, names, merges and searches by person', { timeout: 300_000 }, async () => {
    const detect = await runCli(['faces', 'detect', '--json'], env);
    expect(detect.code, detect.stderr).toBe(0);
    expect(detect.stderr).not.toMatch(/pgvector/);

    const rows = await withLibraryDb(lib, async (db) => {
      const ext = await db.selectFrom('pg_extension' as never).select('extname' as never).where('extname' as never, '=', 'vector' as never).execute();
      expect(ext).toHaveLength(1);
      return db
        .selectFrom('asset_faces as f')
        .innerJoin('assets as a', 'a.id', 'f.asset_id')
        .select(['f.person_id', 'a.original_path', 'f.box_x1', 'f.box_x2'])
        .execute();
    }, dbEnv);
    // the largest face of each photo belongs to the folder's identity
    const main = new Map<string, { person: string | null; width: number; who: string }>();
    for (const r of rows) {
      const who = path.basename(path.dirname(r.original_path));
      const cur = main.get(r.original_path);
      if (!cur || r.box_x2 - r.box_x1 > cur.width) main.set(r.original_path, { person: r.person_id, width: r.box_x2 - r.box_x1, who });
    }
    const files = fs.readdirSync(path.join(src, IDENTITIES[0]!)).length + fs.readdirSync(path.join(src, IDENTITIES[1]!)).length;
    expect(main.size).toBe(files);
    const personOf = new Map<string, Set<string | null>>();
    for (const m of main.values()) personOf.set(m.who, (personOf.get(m.who) ?? new Set()).add(m.person));
    for (const who of IDENTITIES) {
      expect([...personOf.get(who)!].filter(Boolean), who).toHaveLength(1);
    }
    const jack = [...personOf.get('jack_dorsey')!][0]!;
    const katy = [...personOf.get('katy_perry')!][0]!;
    expect(jack).not.toBe(katy);

    expect((await runCli(['faces', 'name', jack, 'Jack Dorsey'], env)).code).toBe(0);
    expect((await runCli(['faces', 'name', katy, 'Katy'], env)).code).toBe(0);
    const found = await runCli(['--json', 'search', '--person', 'Jack Dorsey'], env);
    expect(found.code, found.stderr).toBe(0);
    const hits = JSON.parse(found.stdout).results as Array<{ path: string; originalName: string }>;
    expect(hits.length).toBe(fs.readdirSync(path.join(src, 'jack_dorsey')).length);

    // recluster from scratch on PostgreSQL keeps the named people and the separation
    const rc = await runCli(['faces', 'recluster', '--json'], env);
    expect(rc.code, rc.stderr).toBe(0);
    const people = JSON.parse((await runCli(['faces', 'people', '--json'], env)).stdout) as Array<{ id: string; name: string | null; faces: number }>;
    expect(people.find((p) => p.name === 'Jack Dorsey')).toMatchObject({ id: jack });
    expect(people.find((p) => p.name === 'Katy')).toMatchObject({ id: katy });

    const merge = await runCli(['faces', 'merge', 'Jack Dorsey', 'Katy', '--json'], env);
    expect(merge.code, merge.stderr).toBe(0);
    const both = JSON.parse((await runCli(['--json', 'search', '--person', 'Jack Dorsey'], env)).stdout).results;
    expect(both.length).toBe(files);
  });
});
if (!CORPUS || !SHARED_MODELS) noteSkip('faces on PostgreSQL with pgvector', '../shared/corpus or ../shared/models');
