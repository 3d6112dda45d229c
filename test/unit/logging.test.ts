// Log lines (text and JSON), secret redaction, the rotated log file (size, weekly, keep N, 0600)
// and the settings from flags and IMMICH_LOG_* variables.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { Logger, type LogRecord } from '../../src/logger.js';
import { RotatingFile, weekStart } from '../../src/logging/file.js';
import { formatJson, formatText, redactText } from '../../src/logging/format.js';
import { installLogSinks } from '../../src/logging/install.js';
import { loadLogSettings, parseSize } from '../../src/logging/settings.js';
import { tmpDir } from '../helpers/env.js';

const dirs: string[] = [];
const dir = () => {
  const d = tmpDir('immich-log-');
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const rec = (over: Partial<LogRecord> = {}): LogRecord => ({ time: '2026-11-24T20:00:00.000Z', level: 'warn', msg: 'thumbnails failed', ...over });

describe('formats', () => {
  it('JSON: time, level, msg first, then fields flattened', () => {
    const line = formatJson(rec({ fields: { asset: 'a1', stage: 'thumbnails', cause: 'boom', ms: 12 } }), { pid: 7 });
    expect(line).toBe('{"time":"2026-11-24T20:00:00.000Z","level":"warn","msg":"thumbnails failed","pid":7,"asset":"a1","stage":"thumbnails","cause":"boom","ms":12}');
  });

  it('text: time, padded level, message, key=value fields', () => {
    expect(formatText(rec({ fields: { asset: 'a1', cause: 'two words' } }))).toBe('2026-11-24T20:00:00.000Z warn    thumbnails failed asset=a1 cause="two words"');
  });

  it('never logs secrets: secret-named fields and passwords in URLs are masked', () => {
    const line = JSON.parse(
      formatJson(rec({ msg: 'connecting to postgres://immich:hunter2@db:5432/immich', fields: { password: 'hunter2', DB_PASSWORD: 'x', apiKey: 'k', nested: { token: 't', url: 'redis://:sekret@r:6379' } } })),
    );
    expect(JSON.stringify(line)).not.toMatch(/hunter2|sekret|"k"|"t"/);
    expect(line.msg).toBe('connecting to postgres://immich:********@db:5432/immich');
    expect(line).toMatchObject({ password: '********', DB_PASSWORD: '********', apiKey: '********', nested: { token: '********', url: 'redis://:********@r:6379' } });
    expect(redactText('no secrets here')).toBe('no secrets here');
  });
});

describe('RotatingFile', () => {
  it('creates the file 0600 (and tightens an existing one)', () => {
    const d = dir();
    const f = path.join(d, 'sub', 'immich.log');
    const rf = new RotatingFile(f, { maxBytes: 0, keep: 2 });
    rf.write('one');
    rf.close();
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    fs.chmodSync(f, 0o644);
    const again = new RotatingFile(f, { maxBytes: 0, keep: 2 });
    again.write('two');
    again.close();
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(f, 'utf8')).toBe('one\ntwo\n');
  });

  it('rotates by size and keeps N old files, newest first', () => {
    const d = dir();
    const f = path.join(d, 'immich.log');
    const rf = new RotatingFile(f, { maxBytes: 20, keep: 2 });
    for (let i = 0; i < 6; i++) rf.write(`line-${i}-xxxxxx`); // 16 bytes each: one per file
    rf.close();
    expect(fs.readdirSync(d).sort()).toEqual(['immich.log', 'immich.log.1', 'immich.log.2']);
    expect(fs.readFileSync(f, 'utf8')).toBe('line-5-xxxxxx\n');
    expect(fs.readFileSync(`${f}.1`, 'utf8')).toBe('line-4-xxxxxx\n');
    expect(fs.readFileSync(`${f}.2`, 'utf8')).toBe('line-3-xxxxxx\n');
    for (const x of fs.readdirSync(d)) expect(fs.statSync(path.join(d, x)).mode & 0o777).toBe(0o600);
  });

  it('rotates weekly: the first line of a new week starts a new file', () => {
    const d = dir();
    const f = path.join(d, 'immich.log');
    let now = new Date('2026-11-22T23:00:00Z'); // a Sunday
    const rf = new RotatingFile(f, { maxBytes: 0, keep: 3, now: () => now });
    rf.write('sunday');
    now = new Date('2026-11-22T23:59:00Z');
    rf.write('sunday night');
    now = new Date('2026-11-23T00:01:00Z'); // Monday: a new ISO week
    rf.write('monday');
    rf.close();
    expect(fs.readFileSync(`${f}.1`, 'utf8')).toBe('sunday\nsunday night\n');
    expect(fs.readFileSync(f, 'utf8')).toBe('monday\n');
    expect(weekStart(new Date('2026-11-29T12:00:00Z'))).toBe(Date.parse('2026-11-23T00:00:00Z'));
  });

  it('a file last written in an earlier week is rotated when a new process writes to it', () => {
    const d = dir();
    const f = path.join(d, 'immich.log');
    fs.writeFileSync(f, 'old\n');
    const old = new Date('2026-11-10T10:00:00Z');
    fs.utimesSync(f, old, old);
    const rf = new RotatingFile(f, { maxBytes: 0, keep: 1, now: () => new Date('2026-11-24T10:00:00Z') });
    rf.write('new');
    rf.close();
    expect(fs.readFileSync(`${f}.1`, 'utf8')).toBe('old\n');
    expect(fs.readFileSync(f, 'utf8')).toBe('new\n');
  });

  it('keep 0 keeps no old files; files beyond a lowered keep are removed', () => {
    const d = dir();
    const f = path.join(d, 'immich.log');
    for (const i of [1, 2, 3, 4]) fs.writeFileSync(`${f}.${i}`, 'x');
    const rf = new RotatingFile(f, { maxBytes: 5, keep: 0 });
    rf.write('aaaa');
    rf.write('bbbb');
    rf.close();
    expect(fs.readdirSync(d)).toEqual(['immich.log']);
    expect(fs.readFileSync(f, 'utf8')).toBe('bbbb\n');
  });
});

describe('settings', () => {
  it('defaults: text, no file, 10 MiB, keep 5', () => {
    expect(loadLogSettings({})).toEqual({ format: 'text', file: undefined, maxBytes: 10 * 1024 * 1024, keep: 5 });
  });

  it('variables, and flags over variables', () => {
    const raw = { IMMICH_LOG_FORMAT: 'json', IMMICH_LOG_FILE: '/var/log/immich.log', IMMICH_LOG_MAX_SIZE: '512k', IMMICH_LOG_KEEP: '3' };
    expect(loadLogSettings(raw)).toEqual({ format: 'json', file: '/var/log/immich.log', maxBytes: 512 * 1024, keep: 3 });
    expect(loadLogSettings(raw, { logFormat: 'text', logFile: 'x.log' })).toMatchObject({ format: 'text', file: 'x.log' });
    expect(parseSize('S', '2G')).toBe(2 * 1024 ** 3);
    expect(parseSize('S', '100')).toBe(100);
    expect(parseSize('S', '5MiB')).toBe(5 * 1024 ** 2);
  });

  it.each([
    [{ IMMICH_LOG_FORMAT: 'xml' }, {}, 'IMMICH_LOG_FORMAT'],
    [{}, { logFormat: 'yaml' }, '--log-format'],
    [{ IMMICH_LOG_MAX_SIZE: 'big' }, {}, 'IMMICH_LOG_MAX_SIZE'],
    [{ IMMICH_LOG_KEEP: '-1' }, {}, 'IMMICH_LOG_KEEP'],
    [{}, { logFile: ' ' }, '--log-file'],
  ])('%j %j: usage error naming %s', (raw, flags, name) => {
    expect(() => loadLogSettings(raw, flags)).toThrow(UsageError);
    expect(() => loadLogSettings(raw, flags)).toThrow(name);
  });
});

describe('installLogSinks', () => {
  it('json format writes JSON lines to stderr at the logger level; a file gets them too', () => {
    const d = dir();
    const chunks: string[] = [];
    const stderr = { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream;
    const logger = new Logger('log');
    const { close } = installLogSinks({ logger, raw: { IMMICH_LOG_FILE: 'immich.log' }, flags: { logFormat: 'json' }, stderr, cwd: d });
    logger.debug('hidden');
    logger.warn('video failed for asset a1: no stream', { asset: 'a1', stage: 'video', cause: 'no stream' });
    close();
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0]!)).toMatchObject({ level: 'warn', asset: 'a1', stage: 'video', cause: 'no stream', pid: process.pid });
    expect(JSON.parse(fs.readFileSync(path.join(d, 'immich.log'), 'utf8'))).toMatchObject({ msg: 'video failed for asset a1: no stream', stage: 'video' });
  });

  it('an unwritable log file is reported once and does not fail the command', () => {
    const d = dir();
    fs.writeFileSync(path.join(d, 'file'), '');
    const chunks: string[] = [];
    const stderr = { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WritableStream;
    const logger = new Logger('log');
    installLogSinks({ logger, raw: {}, flags: { logFile: path.join(d, 'file', 'immich.log') }, stderr });
    logger.log('a');
    logger.log('b');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatch(/^immich: cannot write log file .*immich\.log: /);
  });
});
