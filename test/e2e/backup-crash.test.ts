// SIGKILL in the middle of a backup: the repository stays valid (no snapshot appears, the objects
// already stored are reused) and the next backup takes over the stale lock and completes.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tmpDir } from '../helpers/env.js';
import { expectCode, json, repoObjects } from './backup-helpers.js';
import { withLibraryDb } from './import-helpers.js';

// Large originals: each takes the backup milliseconds to hash and store, so the poll below (every
// 10 ms) kills it midway even on a fast, quiet machine, where 80 × 512 KiB were sometimes all stored
// before the poll saw 6 (small objects arrive faster than a poll can count them). 120 MiB in all keeps
// the test quick.
const FILES = 30;
const SIZE = 4 * 1024 * 1024;

/** Originals written straight into uploads/ with their asset rows (no media decoding needed). */
async function seedLibrary(lib: string): Promise<void> {
  const dir = path.join(lib, 'uploads', '2024');
  fs.mkdirSync(dir, { recursive: true });
  const rows = [];
  for (let i = 0; i < FILES; i++) {
    const data = crypto.randomBytes(SIZE);
    const rel = `uploads/2024/raw-${String(i).padStart(4, '0')}.bin`;
    fs.writeFileSync(path.join(lib, rel), data);
    rows.push({
      checksum: crypto.createHash('sha1').update(data).digest('hex'), original_path: `/camera/${i}.jpg`, original_name: `${i}.jpg`,
      library_path: rel, storage_mode: 'copy' as const, type: 'image' as const, mime_type: 'image/jpeg', file_size: SIZE, file_mtime: new Date(),
      taken_at: null, local_taken_at: null, time_zone: null, width: null, height: null, thumbhash: null, live_photo_video_id: null,
    });
  }
  await withLibraryDb(lib, async (db) => {
    await db.insertInto('assets').values(rows).execute();
  });
}

describe('immich backup killed with SIGKILL', () => {
  it('leaves a valid repository and the next backup completes', async () => {
    const base = tmpDir('immich-backup-crash-');
    const lib = path.join(base, 'library');
    await seedLibrary(lib);

    /** Start a backup into `repo` and SIGKILL it as soon as a few originals are stored (the dump is written first). */
    const crash = async (repo: string): Promise<{ killedEarly: boolean; stored: number }> => {
      // At the lowest CPU priority (nice execs it: same pid), so that the backup's hashing on every
      // core does not starve the poll below.
      const child = spawn('nice', ['-n', '19', process.execPath, BIN, 'backup', repo], { env: { ...process.env, UPLOAD_LOCATION: lib, CI: 'true' }, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      let killedEarly = false;
      for (let i = 0; i < 3000; i++) {
        if (repoObjects(repo).size >= 6) {
          child.kill('SIGKILL');
          killedEarly = true;
          break;
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await exited;
      return { killedEarly, stored: repoObjects(repo).size };
    };
    // The objects sometimes land in a burst faster than a poll sees them: a run where the kill came
    // after the last object (yet before the snapshot) does not test a partial repository, so it is
    // run again in a fresh repository (a few times at most).
    let repo = '';
    let run = { killedEarly: false, stored: 0 };
    for (let attempt = 0; attempt < 4; attempt++) {
      repo = path.join(base, `repo-${attempt}`);
      run = await crash(repo);
      if (run.stored < FILES) break;
    }
    expect(run.killedEarly).toBe(true);
    const snapshots = fs.readdirSync(path.join(repo, 'snapshots')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(snapshots).toEqual([]); // killed before the end: no (partial) snapshot is visible
    const storedBefore = run.stored;
    expect(storedBefore).toBeLessThan(FILES);

    // The repository is valid as it is: no snapshots, some unreferenced data.
    const v = await runCli(['--json', 'verify', '--backup', repo], { UPLOAD_LOCATION: lib });
    expectCode(v, 0);

    // The next run takes over the dead process's lock, reuses what was stored and completes.
    const r = await runCli(['--json', 'backup', repo], { UPLOAD_LOCATION: lib });
    expectCode(r, 0);
    const s = json(r).stats;
    expect(s.files).toBe(FILES);
    expect(s.newFiles).toBeLessThan(FILES);
    expect(s.newFiles).toBeGreaterThanOrEqual(FILES - storedBefore);
    expect(fs.readdirSync(path.join(repo, 'tmp'))).toEqual([]);
    expect(fs.existsSync(path.join(repo, 'lock'))).toBe(false);
    const full = await runCli(['--json', 'verify', '--backup', repo, '--read-data'], { UPLOAD_LOCATION: lib });
    expectCode(full, 0);
    expect(json(full).snapshots).toBe(1);
  });
});
