// man/ never drifts from the commands: every page is what the generator makes of the current
// commander definitions, and every flag that --help shows is in its command's page.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/env.js';

const run = promisify(execFile);
let program: Command;
let renderManPages: (p: Command, v: string) => Array<{ file: string; text: string }>;
let roff: (s: string) => string;
const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;

beforeAll(async () => {
  // The compiled CLI, as bin/immich and scripts/gen-man.mjs load it (test/global-setup.ts builds it).
  program = await (await import(path.join(ROOT, "dist/cli/main.js"))).loadProgram();
  ({ renderManPages, roff } = await import(path.join(ROOT, 'dist/cli/man.js')));
});

/** Flags that `--help` lists for the command (the Options section of its help text); "-2d" in a description is no flag. */
function helpFlags(cmd: Command): string[] {
  const help = cmd.helpInformation();
  const options = help.split(/\n(?=\S)/).find((b) => b.startsWith('Options:')) ?? '';
  return [...new Set([...options.matchAll(/(?:^|[\s,])(--[a-zA-Z][\w-]*|-[a-zA-Z0-9](?![\w-]))/gm)].map((m) => m[1]!))].filter((f) => f !== '-h' && f !== '--help');
}

function missingFlags(cmd: Command, page: string): string[] {
  return helpFlags(cmd).filter((f) => !page.includes(`\\fB${roff(f)}\\fR`));
}

const page = (file: string) => fs.readFileSync(path.join(ROOT, 'man', file), 'utf8');

describe('man pages', () => {
  it('man/ holds exactly the generated pages (run `npm run man` after changing a command)', async () => {
    const pages = renderManPages(program, version);
    const files = fs.readdirSync(path.join(ROOT, 'man')).filter((f) => f.endsWith('.1')).sort();
    expect(files).toEqual(pages.map((p) => p.file).sort());
    for (const p of pages) expect(page(p.file), `man/${p.file} differs from the generated page`).toBe(p.text);
    const check = await run(process.execPath, [path.join(ROOT, 'scripts/gen-man.mjs'), '--check']).then(() => 0, (e) => e.code);
    expect(check).toBe(0);
  });

  it('every flag of every command and subcommand is in its page', () => {
    expect(missingFlags(program, page('immich.1'))).toEqual([]);
    for (const cmd of program.commands) {
      const text = page(`immich-${cmd.name()}.1`);
      expect(missingFlags(cmd, text), `immich-${cmd.name()}.1`).toEqual([]);
      for (const sub of cmd.commands) expect(missingFlags(sub, text), `immich-${cmd.name()}.1 (${sub.name()})`).toEqual([]);
      expect(page('immich.1')).toContain(`\\fBimmich\\-${roff(cmd.name()).replace(/^\\-/, '')}\\fR(1)`);
    }
  });

  it('a page that lacks a flag is caught', () => {
    const stats = program.commands.find((c) => c.name() === 'stats')!;
    const text = page('immich-stats.1').replaceAll('\\fB\\-\\-prometheus\\fR', 'prometheus');
    expect(missingFlags(stats, text)).toEqual(['--prometheus']);
  });

  it('pages carry examples and EXIT STATUS from the help text; immich(1) documents the environment', () => {
    for (const cmd of program.commands) {
      const text = page(`immich-${cmd.name()}.1`);
      expect(text).toMatch(/^\.SH NAME\nimmich\\-[\w\\-]+ \\- /m);
      expect(text).toContain('.SH OPTIONS');
      // A command whose help text has an "Exit status:" section gets an EXIT STATUS section.
      const help = (() => { let s = ''; cmd.configureOutput({ writeOut: (x) => (s += x) }); cmd.outputHelp(); return s; })();
      if (/^Exit status:/m.test(help)) expect(text, cmd.name()).toContain('.SH "EXIT STATUS"');
      if (/^Examples?:/m.test(help)) expect(text, cmd.name()).toContain('.SH EXAMPLES');
    }
    expect(page('immich-stats.1')).toContain('.SH EXAMPLES');
    expect(page('immich-stats.1')).toContain('.SH "EXIT STATUS"\n.TP\n\\fB0\\fR\nstatistics printed (and written)');
    const main = page('immich.1');
    for (const v of ['UPLOAD_LOCATION', 'DB_HOSTNAME', 'REDIS_HOSTNAME', 'IMMICH_LOG_LEVEL', 'IMMICH_LOG_FILE', 'IMMICH_LOG_MAX_SIZE', 'IMMICH_LOG_KEEP', 'IMMICH_FFMPEG_ACCEL', 'IMMICH_FFMPEG_TRANSCODE']) {
      expect(main).toContain(`.TP\n\\fB${roff(v)}\\fR\n`);
    }
    expect(main).toContain('.SH "EXIT STATUS"');
  });

  it('the help shown by the real binary is the help the pages were made from', async () => {
    const r = await runCli(['stats', '--help']);
    expect(r.code).toBe(0);
    const stats = program.commands.find((c) => c.name() === 'stats')!;
    for (const f of helpFlags(stats)) expect(r.stdout).toContain(f);
    expect(r.stdout).toContain('Exit status:');
  });

  it('man renders every page without warnings (when man is installed)', async () => {
    const hasMan = await run('sh', ['-c', 'command -v man']).then(() => true, () => false);
    if (!hasMan) return;
    for (const f of fs.readdirSync(path.join(ROOT, 'man'))) {
      const { stderr } = await run('man', ['--warnings', '-l', '-Tutf8', path.join(ROOT, 'man', f)], { env: { ...process.env, MANWIDTH: '80' } });
      expect(stderr, f).toBe('');
    }
  });
});
