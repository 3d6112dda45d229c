// Small files read from a source folder (sidecars, .picasa.ini, CSVs): never through a link, only a
// regular file, bounded in size.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../../src/storage/source-read.js';
import { tmpDir } from '../helpers/env.js';

describe('readSourceFile', () => {
  it('reads a regular file; refuses links, FIFOs and oversized files with the reason', async () => {
    const dir = tmpDir('immich-source-read-');
    const secret = path.join(dir, 'secret');
    fs.writeFileSync(secret, 'root only', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'ok.ini'), '[a.jpg]\nstar=yes\n', { mode: 0o640 });
    fs.symlinkSync(secret, path.join(dir, 'link.ini'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.ini')]);
    fs.writeFileSync(path.join(dir, 'big.ini'), Buffer.alloc(2048, 65));

    const ok = await readSourceFile(path.join(dir, 'ok.ini'), 1024);
    expect(ok.data.toString()).toBe('[a.jpg]\nstar=yes\n');
    expect(ok.mode & 0o777).toBe(0o640);
    await expect(readSourceFile(path.join(dir, 'link.ini'), 1024)).rejects.toThrow(/symbolic link/);
    await expect(readSourceFile(path.join(dir, 'fifo.ini'), 1024)).rejects.toThrow(/not a regular file/);
    await expect(readSourceFile(path.join(dir, 'big.ini'), 1024)).rejects.toThrow(/larger than 1024 bytes/);
  });
});
