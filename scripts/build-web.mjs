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
// Code splitting: app.js is the first page; what it imports lazily (the map: Leaflet, outlines
// parsing) becomes chunk-*.js files fetched only when used.
await build({
  entryPoints: { app: path.join(src, 'main.tsx') },
  outdir: out,
  splitting: true,
  chunkNames: 'chunk-[hash]',
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
// The map's styles with its chunk; Leaflet's CSS names a few control images (copied beside it).
await build({
  entryPoints: [path.join(src, 'map.css')], outfile: path.join(out, 'map.css'), bundle: true, minify: true, logLevel: 'warning',
  loader: { '.png': 'file' }, assetNames: '[name]-[hash]', external: ['#default#VML'],
});
// Natural Earth country outlines (world-atlas, TopoJSON), served as they are, for the map's land.
for (const scale of ['110m', '50m']) {
  fs.copyFileSync(path.join(root, 'node_modules/world-atlas', `countries-${scale}.json`), path.join(out, `countries-${scale}.json`));
}
fs.copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
if (process.argv.includes('--size')) {
  for (const name of fs.readdirSync(out).sort()) {
    if (!/\.(js|css|json)$/.test(name)) continue;
    const body = fs.readFileSync(path.join(out, name));
    console.log(`dist/web/${name}: ${body.length} bytes, ${zlib.gzipSync(body, { level: 9 }).length} gzipped`);
  }
}
