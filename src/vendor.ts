// Dependencies with many module files (kysely ~280, pg 39, commander 8) load from one-file bundles that
// `npm run build` writes to dist/vendor/ (scripts/bundle-deps.mjs): Node 20 spends 150-450 ms
// resolving and linking kysely's ES modules on every start, the bundle ~40 ms. Without a bundle of
// the installed version (sources run by vitest, a tsc-only build, a package updated since) the
// package itself is loaded. A bundle is compiled with its V8 code cache when that fits this node.
import fs from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** The bundled CommonJS exports of `name`, or undefined. */
export function loadBundled<T>(name: string): T | undefined {
  let bundle: { version: string; exports: T };
  try {
    bundle = loadWithCodeCache(fileURLToPath(new URL(`./vendor/${name}.cjs`, import.meta.url)));
  } catch {
    return undefined;
  }
  return installedVersion(name) === bundle.version ? bundle.exports : undefined;
}

/** require() of a CommonJS file, compiled with the V8 code cache saved beside it when there is one. */
function loadWithCodeCache<M>(file: string): M {
  const code = fs.readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(file.replace(/\.cjs$/, '.cache'));
  } catch {
    // no cache: compiled from source
  }
  // A cache from another node version or other V8 flags is rejected by V8 itself: still correct, only slower.
  const script = new vm.Script(Module.wrap(code), { filename: file, cachedData });
  const module = { exports: {} as M };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

/** The version of `name` that `import` would load here (its package.json, found from its CommonJS entry). */
export function installedVersion(name: string): string | undefined {
  try {
    // The CommonJS entry's package, found by walking up (kysely does not export its package.json).
    for (let dir = path.dirname(require.resolve(name)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (!fs.existsSync(file)) continue;
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version;
    }
  } catch {
    // not installed: the caller's import fails with the usual message
  }
  return undefined;
}
