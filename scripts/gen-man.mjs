#!/usr/bin/env node
// Regenerate man/*.1 from the commander program (npm run man), or with --check report pages that
// differ from what the current commands would generate (exit 1). Uses the compiled dist/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { loadProgram } = await import(path.join(root, 'dist/cli/main.js'));
const { renderManPages } = await import(path.join(root, 'dist/cli/man.js'));
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const check = process.argv.includes('--check');
const dir = path.join(root, 'man');
const pages = renderManPages(await loadProgram(), version);
const wanted = new Set(pages.map((p) => p.file));
const problems = [];
fs.mkdirSync(dir, { recursive: true });
for (const p of pages) {
  const file = path.join(dir, p.file);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === p.text) continue;
  if (check) problems.push(`${current === undefined ? 'missing' : 'out of date'}: man/${p.file}`);
  else fs.writeFileSync(file, p.text);
}
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.1') && !wanted.has(f))) {
  if (check) problems.push(`no such command any more: man/${f}`);
  else fs.rmSync(path.join(dir, f));
}
if (problems.length) {
  process.stderr.write(problems.join('\n') + '\nrun `npm run man` to regenerate\n');
  process.exit(1);
}
if (!check) process.stdout.write(`wrote ${pages.length} pages to man/\n`);
