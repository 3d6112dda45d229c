// Library fixtures for the backup benchmarks: `count` random files of `size` bytes under
// uploads/<prefix>/, with their asset rows (inserted 1000 at a time) through an open context.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export async function seedAssets(ctx, lib, count, size, prefix) {
  fs.mkdirSync(path.join(lib, 'uploads', prefix), { recursive: true });
  let rows = [];
  const flush = async () => {
    if (rows.length) await ctx.db.insertInto('assets').values(rows).execute();
    rows = [];
  };
  for (let i = 0; i < count; i++) {
    const data = crypto.randomBytes(size);
    const rel = `uploads/${prefix}/f${String(i).padStart(6, '0')}.jpg`;
    fs.writeFileSync(path.join(lib, rel), data);
    rows.push({
      checksum: crypto.createHash('sha1').update(data).digest('hex'), original_path: `/src/${prefix}/${i}.jpg`, original_name: `${i}.jpg`,
      library_path: rel, storage_mode: 'copy', type: 'image', mime_type: 'image/jpeg', file_size: size, file_mtime: new Date(),
    });
    if (rows.length >= 1000) await flush();
  }
  await flush();
}
