#!/usr/bin/env node
// Bundle the CommonJS builds of kysely, pg and commander into dist/vendor/<name>.cjs with esbuild, one
// file each; run by `npm run build`. Node 20 spends 150-450 ms resolving and loading kysely's ~280
// module files on every start (pg: 39 files, ~50 ms); one file loads in a fraction of that.
// src/vendor.ts loads these files, or the package itself when a file is missing or was made from
// another version of the package. Each bundle gets a V8 code cache beside it (<name>.cache): loading
// kysely's bundle then takes ~7 ms instead of ~28 ms (the cache is ignored by another node version).
import fs from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
// Run after tsc: the same lookup src/vendor.ts checks bundles against at run time.
import { installedVersion } from '../dist/vendor.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['kysely', 'pg', 'commander'];
const req = createRequire(path.join(root, 'package.json'));


/**
 * pg asks whether it runs on Cloudflare Workers by reading `navigator`, which makes Node 20 load its
 * bundled fetch implementation (~15 ms at every start): these bundles are for Node only.
 */
const nodeOnly = {
  name: 'node-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const source = fs.readFileSync(args.path, 'utf8');
      const patched = source.replace('function isCloudflareRuntime() {', 'function isCloudflareRuntime() {\n  return false;');
      if (patched === source) throw new Error(`pg's isCloudflareRuntime not found in ${args.path}`);
      return { contents: patched, loader: 'js' };
    });
  },
};

/** Compile and run the bundle as require() would, then save V8's code cache of what ran. */
function writeCodeCache(file) {
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  fs.writeFileSync(file.replace(/\.cjs$/, '.cache'), script.createCachedData());
}

for (const name of PACKAGES) {
  const version = installedVersion(name);
  if (!version) throw new Error(`no package.json for ${name}`);
  const out = path.join(root, 'dist/vendor', `${name}.cjs`);
  await build({
    stdin: { contents: `module.exports = { version: ${JSON.stringify(version)}, exports: require(${JSON.stringify(name)}) };`, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // pg's optional native binding stays a runtime require (it is not installed).
    external: ['pg-native'],
    plugins: [nodeOnly],
    outfile: out,
    logLevel: 'warning',
  });
  // The bundle must export what the package exports.
  const bundled = createRequire(import.meta.url)(out).exports;
  const missing = Object.keys(req(name)).filter((k) => !(k in bundled));
  if (missing.length) throw new Error(`${name} bundle lacks ${missing.join(', ')}`);
  writeCodeCache(out);
}
