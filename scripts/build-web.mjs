#!/usr/bin/env node
// Build the web gallery (src/web: Preact + TypeScript) into dist/web/ with esbuild: one minified
// ES module, its CSS and index.html. Run by `npm run build` / `npm ci` (prepare); needs no network.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src/web');
const out = path.join(root, 'dist/web');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(src, 'main.tsx')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
await build({ entryPoints: [path.join(src, 'app.css')], outfile: path.join(out, 'app.css'), minify: true, logLevel: 'warning' });
fs.copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
const js = fs.readFileSync(path.join(out, 'app.js'));
if (process.argv.includes('--size')) {
  console.log(`dist/web/app.js: ${js.length} bytes, ${zlib.gzipSync(js, { level: 9 }).length} gzipped`);
}
