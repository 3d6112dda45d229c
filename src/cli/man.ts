// Manual pages generated from the commander program, so they never drift from --help:
// immich(1) for the program (global options, commands, environment, exit status) and
// immich-<command>(1) for each subcommand (its options, arguments, subcommands, and the sections of
// its help text: examples, exit status, ...). scripts/gen-man.mjs writes or checks man/*.1.
import { SETTINGS } from '../settings.js';
import type { Argument, Command, Option, OutputConfiguration } from 'commander';
import { TRANSCODE_ENV } from '../media/transcode.js';

export interface ManPage {
  /** File name, e.g. immich-import.1 */
  file: string;
  text: string;
}

/** Configuration variables for immich(1) ENVIRONMENT: name → what it does. */
export const ENVIRONMENT: Array<[string, string]> = [
  ['UPLOAD_LOCATION', 'Library folder: uploads/ (originals), thumbs/, encoded/, backups/ and the embedded database. Default ~/.local/share/immich/library; -L overrides it.'],
  ['DB_URL', 'PostgreSQL connection URL (postgres://user:password@host:port/db). With DB_URL or DB_HOSTNAME unset, the embedded database inside the library is used.'],
  ['DB_HOSTNAME', 'PostgreSQL server host.'],
  ['DB_PORT', 'PostgreSQL server port (5432).'],
  ['DB_USERNAME', 'PostgreSQL user (postgres).'],
  ['DB_PASSWORD', 'PostgreSQL password (never printed).'],
  ['DB_DATABASE_NAME', 'PostgreSQL database (immich).'],
  ['REDIS_HOSTNAME', 'Redis host for BullMQ job queues; unset means jobs run in-process.'],
  ['REDIS_PORT', 'Redis port (6379).'],
  ['REDIS_PASSWORD', 'Redis password (never printed).'],
  ['REDIS_DBINDEX', 'Redis database index (0).'],
  ['IMMICH_MODELS_DIR', 'Machine-learning model folder, in Immich\'s cache layout <task>/<model>/<part>/model.onnx.'],
  ['IMMICH_MODEL_CACHE', 'Further model cache folder (default ~/.cache/immich/models).'],
  ['IMMICH_STORAGE_TEMPLATE', 'Where import puts copied and moved originals under uploads/: Immich\'s template language, default {{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}} (the extension is appended). Checked at start-up; `immich storage migrate` moves existing originals to it. See immich-storage(1).'],
  ['IMMICH_ENV_FILE', 'The .env file to read instead of ./.env (like --env-file).'],
  ['IMMICH_LOG_LEVEL', 'verbose, debug, log (default), warn or error.'],
  ['IMMICH_LOG_FORMAT', 'text (default) or json: the format of log lines on standard error (like --log-format).'],
  ['IMMICH_LOG_FILE', 'Also append JSON log lines to this file, created with mode 0600 (like --log-file).'],
  ['IMMICH_LOG_MAX_SIZE', 'Rotate the log file before it grows past this size (10M; k, M, G suffixes; 0 = weekly only). It is also rotated at the start of each week (Monday, UTC).'],
  ['IMMICH_LOG_KEEP', 'Rotated log files kept as FILE.1 (newest) to FILE.N (5).'],
];

const TRANSCODE_HELP: Record<keyof typeof TRANSCODE_ENV, string> = {
  IMMICH_FFMPEG_TRANSCODE: 'Transcode policy for videos: required (default; only what browsers cannot play), optimal (also above the target resolution), bitrate (also above the max bitrate), all, disabled.',
  IMMICH_FFMPEG_TARGET_VIDEO_CODEC: 'h264 (default), hevc, vp9 or av1.',
  IMMICH_FFMPEG_TARGET_AUDIO_CODEC: 'aac (default), mp3 or libopus.',
  IMMICH_FFMPEG_ACCEPTED_VIDEO_CODECS: 'Comma-separated video codecs kept as they are (h264).',
  IMMICH_FFMPEG_ACCEPTED_AUDIO_CODECS: 'Comma-separated audio codecs kept as they are (aac,mp3,libopus).',
  IMMICH_FFMPEG_ACCEPTED_CONTAINERS: 'Comma-separated containers that need no remux (mov,ogg,webm; MP4 always).',
  IMMICH_FFMPEG_TARGET_RESOLUTION: 'Shorter side of the transcoded video: 480, 720 (default), 1080, 1440, 2160 or original. Never upscales.',
  IMMICH_FFMPEG_CRF: 'Constant rate factor / quality (23).',
  IMMICH_FFMPEG_PRESET: 'Encoder speed: ultrafast (default) to veryslow; mapped to each encoder\'s own scale.',
  IMMICH_FFMPEG_MAX_BITRATE: 'Maximum bitrate, e.g. 4500k or 5M; 0 (default) = none.',
  IMMICH_FFMPEG_TWO_PASS: 'true: two-pass encoding when a max bitrate is set (always for vp9/av1). Software only.',
  IMMICH_FFMPEG_ACCEL: 'Hardware acceleration: disabled (default), nvenc, qsv, vaapi or rkmpp. When the hardware path fails, the video is transcoded again in software. See hwaccel.transcoding.yml.',
  IMMICH_FFMPEG_ACCEL_DECODE: 'true: decode on the GPU too (full hardware pipeline).',
  IMMICH_FFMPEG_THREADS: 'Encoder threads; 0 (default) lets ffmpeg decide.',
  IMMICH_FFMPEG_GOP_SIZE: 'Keyframe interval in frames; 0 = encoder default (256 for hardware encoders).',
  IMMICH_FFMPEG_BFRAMES: 'B-frames; -1 (default) = encoder default.',
  IMMICH_FFMPEG_REFS: 'Reference frames; 0 (default) = encoder default.',
  IMMICH_FFMPEG_CQ_MODE: 'Hardware rate control: auto (default), cqp or icq.',
  IMMICH_FFMPEG_TEMPORAL_AQ: 'true: NVENC temporal adaptive quantisation.',
  IMMICH_FFMPEG_PREFERRED_HW_DEVICE: 'DRI node for qsv/vaapi, e.g. /dev/dri/renderD128; auto (default) picks one.',
  IMMICH_FFMPEG_TONEMAP: 'HDR to SDR tone mapping for HDR (PQ, HLG) videos: hable (default), mobius, reinhard or disabled.',
};

// ---------------------------------------------------------------------------------------------
// roff helpers

/** Escape text for roff: backslashes, leading control characters, hyphens in option names. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

const bold = (s: string) => `\\fB${roff(s)}\\fR`;

/** Option flags with the argument in italics: \fB\-\-last\fR \fI<n>\fR */
function flagsRoff(o: Option): string {
  return o.flags.replace(/([^\s,|]+)(,\s*)?|(\s+)/g, (_m, word: string | undefined, comma: string | undefined) => {
    if (!word) return '';
    const formatted = /^[<[]/.test(word) ? `\\fI${roff(word)}\\fR` : bold(word);
    return formatted + (comma ? ', ' : ' ');
  }).trim();
}

function optionDescription(o: Option): string {
  let d = o.description ?? '';
  if (o.defaultValue !== undefined && !o.negate && typeof o.defaultValue !== 'boolean') d += ` (default: ${JSON.stringify(o.defaultValue)})`;
  if (o.argChoices?.length) d += ` (choices: ${o.argChoices.join(', ')})`;
  return d;
}

function argumentsLine(args: readonly Argument[]): string {
  return args
    .map((a) => {
      const n = a.name() + (a.variadic ? '...' : '');
      return a.required ? `<${n}>` : `[${n}]`;
    })
    .join(' ');
}

interface HelpSections {
  /** Text before the first heading. */
  intro: string;
  sections: Array<{ title: string; body: string }>;
}

/** The command's addHelpText output, split at lines like "Examples:" or "Exit status:". */
export function helpTextSections(cmd: Command): HelpSections {
  let captured = '';
  const saved: OutputConfiguration = { ...cmd.configureOutput() };
  const capture: OutputConfiguration = {
    ...saved,
    writeOut: (s: string) => { captured += s; },
    writeErr: (s: string) => { captured += s; },
    getOutHelpWidth: () => 80,
    getErrHelpWidth: () => 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  };
  cmd.configureOutput(capture);
  const core = cmd.helpInformation();
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  const idx = captured.indexOf(core);
  const after = idx >= 0 ? captured.slice(idx + core.length) : '';
  const lines = after.replace(/\r/g, '').split('\n');
  const out: HelpSections = { intro: '', sections: [] };
  let cur: { title: string; lines: string[] } | undefined;
  const intro: string[] = [];
  for (const line of lines) {
    const m = /^([A-Z][A-Za-z /-]{1,40}):\s*$/.exec(line);
    if (m) {
      if (cur) out.sections.push({ title: cur.title, body: trimBlock(cur.lines) });
      cur = { title: m[1]!, lines: [] };
    } else if (cur) cur.lines.push(line);
    else intro.push(line);
  }
  if (cur) out.sections.push({ title: cur.title, body: trimBlock(cur.lines) });
  out.intro = trimBlock(intro);
  return out;
}

function trimBlock(lines: string[]): string {
  const l = [...lines];
  while (l.length && !l[0]!.trim()) l.shift();
  while (l.length && !l.at(-1)!.trim()) l.pop();
  const lead = (x: string) => x.length - x.trimStart().length;
  const indent = Math.min(...l.filter((x) => x.trim()).map(lead), 99);
  return l.map((x) => x.slice(Math.min(indent, lead(x)))).join('\n');
}

/** Prose paragraphs (blank-line separated) → .PP blocks; indented lines stay preformatted. */
function prose(text: string): string {
  if (!text.trim()) return '';
  return text
    .split(/\n\s*\n/)
    .map((p) => (/^\s/m.test(p) ? `.PP\n.nf\n.RS 4\n${roff(p)}\n.RE\n.fi` : `.PP\n${roff(p.replace(/\n/g, ' '))}`))
    .join('\n');
}

/** "  0  all done" lines → .TP items; anything else preformatted. */
function listSection(body: string): string {
  const lines = body.split('\n').filter((l) => l.trim());
  if (lines.length && lines.every((l) => /^\s*\S+\s{2,}\S/.test(l))) {
    return lines
      .map((l) => {
        const m = /^\s*(\S+)\s{2,}(.*)$/.exec(l)!;
        return `.TP\n${bold(m[1]!)}\n${roff(m[2]!)}`;
      })
      .join('\n');
  }
  return `.nf\n.RS 4\n${roff(body)}\n.RE\n.fi`;
}

function preformatted(body: string): string {
  return `.PP\n.nf\n.RS 4\n${roff(body)}\n.RE\n.fi`;
}

function optionsBlock(options: readonly Option[]): string {
  return options
    .filter((o) => !o.hidden)
    .map((o) => `.TP\n${flagsRoff(o)}\n${roff(optionDescription(o))}`)
    .join('\n');
}

function header(name: string, version: string): string {
  return `.\\" Generated by scripts/gen-man.mjs from the commander definitions; do not edit.\n.TH ${name.toUpperCase()} 1 "" "immich ${version}" "User Commands"`;
}

function sectionsFromHelp(h: HelpSections, skip: string[] = []): string[] {
  const parts: string[] = [];
  for (const s of h.sections) {
    const t = s.title.toLowerCase();
    if (skip.includes(t)) continue;
    if (t.startsWith('example')) parts.push(`.SH EXAMPLES\n${preformatted(s.body)}`);
    else if (t === 'exit status') parts.push(`.SH "EXIT STATUS"\n${listSection(s.body)}`);
    else parts.push(`.SH "${s.title.toUpperCase()}"\n${/^\s/m.test(s.body) || s.body.includes('\n') ? preformatted(s.body) : prose(s.body)}`);
  }
  return parts;
}

function commandPage(cmd: Command, version: string): ManPage {
  const name = `immich-${cmd.name()}`;
  const help = helpTextSections(cmd);
  const parts = [header(name, version), `.SH NAME\n${roff(name)} \\- ${roff(cmd.description())}`];
  const subs = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const usage = subs.length
    ? subs.map((s) => `${bold('immich ' + cmd.name() + ' ' + s.name())} ${roff(s.usage())}`).join('\n.br\n')
    : `${bold('immich ' + cmd.name())} ${roff(cmd.usage())}`;
  parts.push(`.SH SYNOPSIS\n${usage}`);
  parts.push(`.SH DESCRIPTION\n.PP\n${roff(cmd.description())}${help.intro ? '\n' + prose(help.intro) : ''}`);
  if (cmd.registeredArguments.length) {
    parts.push(`.SH ARGUMENTS\n${cmd.registeredArguments.map((a) => `.TP\n\\fI${roff(argumentsLine([a]))}\\fR\n${roff(a.description || '')}`).join('\n')}`);
  }
  const opts = optionsBlock(cmd.options);
  parts.push(`.SH OPTIONS\n${opts ? opts + '\n' : ''}.PP\nThe global options of \\fBimmich\\fR(1) (\\fB\\-\\-json\\fR, \\fB\\-q\\fR, \\fB\\-L\\fR, \\fB\\-\\-env\\-file\\fR, \\fB\\-\\-log\\-level\\fR, \\fB\\-\\-log\\-format\\fR, \\fB\\-\\-log\\-file\\fR) apply too.`);
  if (subs.length) {
    const blocks = subs.map((s) => {
      const sh = helpTextSections(s);
      const lines = [`.SS "${roff(`immich ${cmd.name()} ${s.name()}`)} ${roff(s.usage())}"`, `.PP\n${roff(s.description())}`];
      if (sh.intro) lines.push(prose(sh.intro));
      if (s.registeredArguments.length) lines.push(s.registeredArguments.map((a) => `.TP\n\\fI${roff(argumentsLine([a]))}\\fR\n${roff(a.description || '')}`).join('\n'));
      const o = optionsBlock(s.options);
      if (o) lines.push(o);
      for (const sec of sh.sections) lines.push(`.PP\n${roff(sec.title)}:\n${preformatted(sec.body)}`);
      return lines.join('\n');
    });
    parts.push(`.SH COMMANDS\n${blocks.join('\n')}`);
  }
  parts.push(...sectionsFromHelp(help));
  parts.push(`.SH "SEE ALSO"\n${bold('immich')}(1)`);
  return { file: `${name}.1`, text: parts.join('\n') + '\n' };
}

function programPage(program: Command, version: string): ManPage {
  const help = helpTextSections(program);
  const cmds = program.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const parts = [
    header('immich', version),
    `.SH NAME\nimmich \\- ${roff(program.description())}`,
    `.SH SYNOPSIS\n${bold('immich')} [\\fIoptions\\fR] \\fIcommand\\fR [\\fIarguments\\fR]`,
    `.SH DESCRIPTION\n.PP\n${roff(program.description())}${help.intro ? '\n' + prose(help.intro) : ''}`,
    `.SH OPTIONS\n${optionsBlock(program.options)}\n.TP\n${bold('-h, --help')}\ndisplay help for a command (also \\fBimmich help\\fR \\fIcommand\\fR)`,
    `.SH COMMANDS\n${cmds.map((c) => `.TP\n${bold(c.name())} ${roff(c.usage())}\n${roff(sentence(c.description()))} See ${bold('immich-' + c.name())}(1).`).join('\n')}`,
    `.SH ENVIRONMENT\n.PP\nRead from the environment and from ./.env (or \\fB\\-\\-env\\-file\\fR), with the names of Immich's .env so an existing deployment's file can be reused.\n` +
      [...ENVIRONMENT, ...Object.entries(TRANSCODE_HELP), ...documentedElsewhere(program)].map(([k, v]) => `.TP\n${bold(k)}\n${roff(v)}`).join('\n'),
    ...sectionsFromHelp(help),
    `.SH FILES\n.TP\n\\fI$UPLOAD_LOCATION/uploads/\\fR\noriginals copied or moved into the library\n.TP\n\\fI$UPLOAD_LOCATION/thumbs/\\fR\nthumbnails and previews\n.TP\n\\fI$UPLOAD_LOCATION/encoded/\\fR\ntranscoded videos\n.TP\n\\fI$UPLOAD_LOCATION/backups/\\fR\ndefault backup repository\n.TP\n\\fI$UPLOAD_LOCATION/database/\\fR\nthe embedded database`,
    `.SH "SEE ALSO"\n${cmds.map((c) => `${bold('immich-' + c.name())}(1)`).join(',\n')}`,
  ];
  return { file: 'immich.1', text: parts.join('\n') + '\n' };
}

function sentence(s: string): string {
  return /[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`;
}

/**
 * Variables named in a command's help text (IMMICH_FACE_MODEL, ...) and the settings of
 * src/settings.ts that the table above lacks.
 */
function documentedElsewhere(program: Command): Array<[string, string]> {
  const known = new Set([...ENVIRONMENT.map(([k]) => k), ...Object.keys(TRANSCODE_HELP)]);
  const found = new Map<string, Set<string>>();
  const visit = (cmd: Command, top: string) => {
    const h = helpTextSections(cmd);
    const text = [h.intro, ...h.sections.map((x) => x.body), cmd.description(), ...cmd.options.map((o) => o.description)].join('\n');
    for (const m of text.matchAll(/\b((?:IMMICH|DB|REDIS)_[A-Z0-9_]+)\b/g)) {
      if (known.has(m[1]!)) continue;
      if (!found.has(m[1]!)) found.set(m[1]!, new Set());
      found.get(m[1]!)!.add(top);
    }
    for (const c of cmd.commands) visit(c, top);
  };
  for (const c of program.commands) visit(c, c.name());
  // Every other setting the code reads (src/settings.ts), with its expected form, mentioned or not.
  const forms = new Map(SETTINGS.filter((x) => !known.has(x.name)).map((x) => [x.name, x.form]));
  for (const name of forms.keys()) if (!found.has(name)) found.set(name, new Set());
  return [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, cmds]) => {
      const form = forms.get(k);
      const see = cmds.size ? `See ${[...cmds].sort().map((c) => `immich-${c}(1)`).join(', ')}.` : '';
      return [k, [form ? `${form[0]!.toUpperCase()}${form.slice(1)}.` : '', see].filter(Boolean).join(' ')];
    });
}

/** Every page: immich.1 first, then one per visible subcommand. */
export function renderManPages(program: Command, version: string): ManPage[] {
  const cmds = program.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  return [programPage(program, version), ...cmds.map((c) => commandPage(c, version))];
}

/** All long and short flags of a command (for drift checks). */
export function commandFlags(cmd: Command): string[] {
  return cmd.options.filter((o) => !o.hidden).flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
}
