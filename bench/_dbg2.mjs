import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const { loadConfig } = await import('../dist/config.js'); const { createContext } = await import('../dist/context.js'); const { Logger } = await import('../dist/logger.js');
const { recognizeText } = await import('../dist/ml/ocr.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocrdbg-'));
const ctx = await createContext(loadConfig({ env: { UPLOAD_LOCATION: dir }, cwd: dir }), new Logger('error', []), { migrate: false });
for (const f of process.argv.slice(2)) { const r = await recognizeText(ctx, f); console.log(f, JSON.stringify(r.text)); }
await ctx.close();
