// Migration 0170: a library imported before names were kept byte for byte may hold a U+FFFD that the
// name really has (valid UTF-8 EF BF BD); it is rewritten in the text form of raw-path.ts, so the
// file is still found by its bytes.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrate } from '../../src/db/migrate.js';
import { bytesFromText } from '../../src/storage/raw-path.js';
import { tmpDir } from '../helpers/env.js';

describe('migration 0170_raw_paths', () => {
  it('re-encodes a real U+FFFD in stored paths and leaves other paths alone', async () => {
    const database = await openDatabase(loadConfig({ env: { UPLOAD_LOCATION: tmpDir('immich-rawmig-') }, cwd: tmpDir() }).database);
    try {
      const { db } = database;
      await db.deleteFrom('schema_migrations').where('name', '=', '0170_raw_paths').execute();
      const legacy = '/photos/caf\uFFFDE9.jpg'; // a file really named so (bytes EF BF BD "E9")
      const asset = (checksum: string, p: string) => ({
        checksum, original_path: p, original_name: p.slice(p.lastIndexOf('/') + 1), library_path: p, storage_mode: 'in-place' as const,
        type: 'image' as const, mime_type: 'image/jpeg', file_size: 1, file_mtime: new Date(),
        taken_at: null, local_taken_at: null, time_zone: null, width: null, height: null, thumbhash: null, live_photo_video_id: null,
      });
      await db.insertInto('assets').values([asset('a'.repeat(40), legacy), asset('b'.repeat(40), '/photos/plain é.jpg')]).execute();
      await db.insertInto('import_failures').values({ path: legacy, stage: 'probe', reason: 'x' }).execute();
      await migrate(db, database.hasVector);
      const rows = await db.selectFrom('assets').select(['checksum', 'original_path', 'original_name', 'library_path']).orderBy('checksum').execute();
      expect(rows[0]).toMatchObject({
        original_path: '/photos/caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg',
        original_name: 'caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg',
        library_path: '/photos/caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg',
      });
      expect(bytesFromText(rows[0]!.library_path).equals(Buffer.from(legacy))).toBe(true);
      expect(rows[1]).toMatchObject({ original_path: '/photos/plain é.jpg', library_path: '/photos/plain é.jpg' });
      const failure = await db.selectFrom('import_failures').select('path').executeTakeFirstOrThrow();
      expect(failure.path).toBe('/photos/caf\uFFFDEF\uFFFDBF\uFFFDBDE9.jpg');
    } finally {
      await database.close();
    }
  }, 120_000);
});
