// End-to-end tests run the real bin/immich, which loads dist/: compile once before the suites.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers/env.js';

export default function setup(): void {
  if (process.env.IMMICH_TEST_SKIP_BUILD === '1') return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-deps.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-db-template.mjs')], { stdio: 'inherit' });
}
