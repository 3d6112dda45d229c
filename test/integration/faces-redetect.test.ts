// `faces detect --force` renews faces without taking them from anyone: a named person keeps every
// face (new detections take over the old faces they overlap), a face unassigned by hand stays
// unassigned, and the person's cover is still one of their faces.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { CORPUS, SHARED_MODELS, noteSkip, runCli, tmpDir } from '../helpers/env.js';

describe.skipIf(!CORPUS || !SHARED_MODELS)('faces detect --force on named people', () => {
  it('keeps the named person with their faces, manual assignments and a valid cover', async () => {
    const lib = tmpDir('immich-redetect-');
    const env = { UPLOAD_LOCATION: lib, IMMICH_MODELS_DIR: path.join(lib, 'models') };
    expect((await runCli(['models', 'pull', 'scrfd_2.5g-mobilefacenet', '--from', SHARED_MODELS!], env)).code).toBe(0);
    expect((await runCli(['import', '--skip-ml', path.join(CORPUS!, 'faces/jack_dorsey'), path.join(CORPUS!, 'faces/katy_perry')], env)).code).toBe(0);
    expect((await runCli(['faces', 'detect'], env)).code).toBe(0);

    const state = async () => {
      const db = await openDatabase(loadConfig({ env }).database);
      try {
        const people = await db.db.selectFrom('people').select(['id', 'name', 'cover_face_id']).execute();
        const faces = await db.db.selectFrom('asset_faces').select(['id', 'person_id', 'assigned_by', 'asset_id']).execute();
        return { people, faces };
      } finally {
        await db.close();
      }
    };
    const before = await state();
    const biggest = before.people
      .map((p) => ({ ...p, faces: before.faces.filter((f) => f.person_id === p.id) }))
      .sort((a, b) => b.faces.length - a.faces.length)[0]!;
    expect(biggest.faces.length).toBeGreaterThanOrEqual(3);
    expect((await runCli(['faces', 'name', biggest.id, 'Someone'], env)).code).toBe(0);
    const [unassigned, ...kept] = biggest.faces;
    expect((await runCli(['faces', 'unassign', unassigned!.id], env)).code).toBe(0);

    const again = await runCli(['faces', 'detect', '--force', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    const after = await state();
    const person = after.people.find((p) => p.id === biggest.id);
    expect(person?.name).toBe('Someone');
    // The same photos, the same faces (renewed in place), still theirs.
    const mine = after.faces.filter((f) => f.person_id === biggest.id);
    expect(mine.map((f) => f.asset_id).sort()).toEqual(kept.map((f) => f.asset_id).sort());
    expect(mine.map((f) => f.id).sort()).toEqual(kept.map((f) => f.id).sort());
    expect(after.faces.find((f) => f.id === unassigned!.id)).toMatchObject({ person_id: null, assigned_by: 'manual' });
    expect(mine.map((f) => f.id)).toContain(person!.cover_face_id);
  }, 400_000);
});
if (!CORPUS || !SHARED_MODELS) noteSkip('faces detect --force on named people', '../shared/corpus or ../shared/models');
