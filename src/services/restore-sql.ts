// Reading a database dump for `immich restore` without trusting it. A repository that is not
// encrypted can be edited by anyone who can write to it, so the dump is never handed to psql (which
// runs `\!` shell commands) and nothing in it reaches the database unless it is one of the statement
// kinds `immich backup` writes: SET of known parameters, the two pg_dump SELECTs (search_path,
// setval), CREATE EXTENSION/TABLE/SEQUENCE/INDEX/TRIGGER and ALTER TABLE/SEQUENCE as pg_dump prints
// our schema, CREATE FUNCTION only with a body that one of our migrations has, and INSERTs of plain
// literals. Functions called anywhere in the schema must be ones our migrations call (no
// pg_read_file, lo_export, query_to_xml...). The dump is streamed: it is gunzipped chunk by chunk
// with its output bounded by the size the snapshot recorded, and split into statements here.
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { MIGRATIONS_DIR, migrationNames } from '../db/migrate.js';
import { RepositoryError } from './backup-repo.js';

/** A statement longer than this is not one pg_dump writes for our tables (500 rows of vectors ~ 3 MB). */
export const MAX_STATEMENT_CHARS = 64 * 1024 * 1024;
/** Snapshots made before the dump's unpacked size was recorded: at most this many times the packed size. */
export const LEGACY_EXPANSION = 100;

export class DumpRejectedError extends RepositoryError {}

type Tok = { t: 'str' | 'estr' | 'qident' | 'dollar' | 'num' | 'ident' | 'op'; v: string };

const isIdentStart = (c: string): boolean => /[A-Za-z_\u0080-\uffff]/.test(c);
const isIdentChar = (c: string): boolean => /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * Splits SQL text into statements (without comments) the way the PostgreSQL lexer does, for
 * standard_conforming_strings = on: '...' with '' escapes, E'...' with backslash escapes, "...",
 * $tag$...$tag$, -- and nested /* *\/ comments. A psql meta-command (a backslash outside a literal)
 * is returned as such so that the caller can refuse it.
 */
export class StatementSplitter {
  private buf = '';
  private pos = 0;
  /** Text of the current statement taken so far (comments removed). */
  private stmt = '';
  private segStart = 0;
  private mode: 'sql' | 'str' | 'estr' | 'qident' | 'dollar' | 'line' | 'block' | 'meta' = 'sql';
  private tag = '';
  private depth = 0;
  private prevIdent = false;
  private eCand = false;

  /** Feed text; returns the statements completed by it. */
  push(text: string): Array<{ kind: 'sql' | 'meta'; text: string }> {
    this.buf = this.buf.slice(this.segStart) + text;
    this.pos -= this.segStart;
    this.segStart = 0;
    return this.scan(false);
  }

  /** End of input: what is left must be whitespace. */
  end(): Array<{ kind: 'sql' | 'meta'; text: string }> {
    const out = this.scan(true);
    if (this.mode === 'meta') {
      out.push({ kind: 'meta', text: this.buf.slice(this.segStart).trim() });
      this.mode = 'sql';
    } else if (this.mode !== 'sql' && this.mode !== 'line') {
      throw new DumpRejectedError('the database dump ends inside a quoted string or comment (truncated or tampered)');
    } else if ((this.stmt + this.buf.slice(this.segStart)).trim()) {
      throw new DumpRejectedError('the database dump ends in the middle of a statement (truncated or tampered)');
    }
    return out;
  }

  private take(to: number): void {
    this.stmt += this.buf.slice(this.segStart, to);
    this.segStart = to;
    if (this.stmt.length > MAX_STATEMENT_CHARS) throw new DumpRejectedError(`the database dump has a statement longer than ${MAX_STATEMENT_CHARS} characters`);
  }

  private scan(final: boolean): Array<{ kind: 'sql' | 'meta'; text: string }> {
    const out: Array<{ kind: 'sql' | 'meta'; text: string }> = [];
    const b = this.buf;
    let i = this.pos;
    const n = b.length;
    // Lookahead past the end of the buffer waits for more input unless this is the end.
    const need = (k: number): boolean => i + k > n && !final;
    loop: while (i < n) {
      const c = b[i]!;
      switch (this.mode) {
        case 'sql': {
          const eCand = this.eCand;
          let single = true; // consumed one plain character
          if (c === "'") {
            this.mode = eCand ? 'estr' : 'str';
            i++;
            single = false;
          } else if (c === '"') {
            this.mode = 'qident';
            i++;
            single = false;
          } else if (c === '-' || c === '/') {
            if (need(2)) break loop;
            if (c === '-' && b[i + 1] === '-') {
              this.take(i);
              this.mode = 'line';
              i += 2;
              single = false;
            } else if (c === '/' && b[i + 1] === '*') {
              this.take(i);
              this.mode = 'block';
              this.depth = 1;
              i += 2;
              single = false;
            } else i++;
          } else if (c === '$' && !this.prevIdent) {
            const rest = b.slice(i, i + 130);
            const m = DOLLAR_TAG.exec(rest);
            // `$abc` at the end of the buffer may still become a tag: wait for more input.
            if (!m && need(130) && /^\$[A-Za-z_\u0080-\uffff]?[A-Za-z0-9_\u0080-\uffff]*$/.test(rest)) break loop;
            if (m) {
              this.mode = 'dollar';
              this.tag = m[0];
              i += m[0].length;
              single = false;
            } else i++;
          } else if (c === '\\') {
            // psql would run this line as a meta-command (\! shell, \copy, \o file...).
            this.take(i);
            this.mode = 'meta';
            i++;
            single = false;
          } else if (c === ';') {
            this.take(i + 1);
            const text = this.stmt.trim();
            this.stmt = '';
            if (text !== ';') out.push({ kind: 'sql', text });
            i++;
          } else i++;
          // E'...' is an escape string only when the E starts a token (not the end of `type`).
          this.eCand = single && (c === 'E' || c === 'e') && !this.prevIdent;
          this.prevIdent = single && isIdentChar(c) && (this.prevIdent || isIdentStart(c));
          break;
        }
        case 'str':
        case 'estr': {
          if (this.mode === 'estr' && c === '\\') {
            if (need(2)) break loop;
            i += 2;
          } else if (c === "'") {
            if (need(2)) break loop;
            if (b[i + 1] === "'") i += 2;
            else {
              this.mode = 'sql';
              this.prevIdent = false;
              this.eCand = false;
              i++;
            }
          } else i++;
          break;
        }
        case 'qident': {
          if (c === '"') {
            if (need(2)) break loop;
            if (b[i + 1] === '"') i += 2;
            else {
              this.mode = 'sql';
              this.prevIdent = true;
              this.eCand = false;
              i++;
            }
          } else i++;
          break;
        }
        case 'dollar': {
          const at = b.indexOf(this.tag, i);
          if (at < 0) {
            // Keep the last tag.length-1 characters: the closing tag may straddle chunks.
            i = Math.max(i, n - this.tag.length + 1);
            if (final) i = n;
            break loop;
          }
          i = at + this.tag.length;
          this.mode = 'sql';
          this.prevIdent = false;
          this.eCand = false;
          break;
        }
        case 'line': {
          const at = b.indexOf('\n', i);
          if (at < 0) {
            i = n;
            this.segStart = n;
            break loop;
          }
          i = at + 1;
          this.segStart = i;
          this.stmt += ' ';
          this.mode = 'sql';
          this.prevIdent = false;
          this.eCand = false;
          break;
        }
        case 'block': {
          if (need(2)) break loop;
          if (c === '*' && b[i + 1] === '/') {
            i += 2;
            if (--this.depth === 0) {
              this.segStart = i;
              this.stmt += ' ';
              this.mode = 'sql';
              this.prevIdent = false;
              this.eCand = false;
            }
          } else if (c === '/' && b[i + 1] === '*') {
            this.depth++;
            i += 2;
          } else i++;
          break;
        }
        case 'meta': {
          const at = b.indexOf('\n', i);
          if (at < 0 && !final) {
            i = n;
            break loop;
          }
          const endAt = at < 0 ? n : at;
          out.push({ kind: 'meta', text: (this.stmt.trim() ? this.stmt.trim() + ' ' : '') + b.slice(this.segStart, endAt).trim() });
          this.stmt = '';
          i = endAt;
          this.segStart = endAt;
          this.mode = 'sql';
          this.prevIdent = false;
          this.eCand = false;
          break;
        }
      }
    }
    this.pos = i;
    if (this.mode === 'block') this.segStart = i; // comment text is dropped
    if (this.mode === 'sql' || this.mode === 'str' || this.mode === 'estr' || this.mode === 'qident' || this.mode === 'dollar') {
      if (i - this.segStart > 1 << 20) this.take(i); // keep the buffer small; `stmt` holds the text
    }
    return out;
  }
}

/** Tokens of one comment-free statement (the splitter has checked its quoting). */
export function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if ((c === 'E' || c === 'e') && s[i + 1] === "'") {
      let j = i + 2;
      while (j < s.length) {
        if (s[j] === '\\') j += 2;
        else if (s[j] === "'" && s[j + 1] === "'") j += 2;
        else if (s[j] === "'") break;
        else j++;
      }
      out.push({ t: 'estr', v: s.slice(i + 2, j) });
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      while (j < s.length) {
        if (s[j] === "'" && s[j + 1] === "'") j += 2;
        else if (s[j] === "'") break;
        else j++;
      }
      out.push({ t: 'str', v: s.slice(i + 1, j).replace(/''/g, "'") });
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < s.length) {
        if (s[j] === '"' && s[j + 1] === '"') j += 2;
        else if (s[j] === '"') break;
        else j++;
      }
      out.push({ t: 'qident', v: s.slice(i + 1, j).replace(/""/g, '"') });
      i = j + 1;
    } else if (c === '$' && DOLLAR_TAG.test(s.slice(i, i + 130))) {
      const tag = DOLLAR_TAG.exec(s.slice(i, i + 130))![0];
      const end = s.indexOf(tag, i + tag.length);
      const stop = end < 0 ? s.length : end;
      out.push({ t: 'dollar', v: s.slice(i + tag.length, stop) });
      i = stop + tag.length;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(s.slice(i, i + 400))!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < s.length && isIdentChar(s[j]!)) j++;
      out.push({ t: 'ident', v: s.slice(i, j).toLowerCase() });
      i = j;
    } else if (c === ':' && s[i + 1] === ':') {
      out.push({ t: 'op', v: '::' });
      i += 2;
    } else {
      out.push({ t: 'op', v: c });
      i++;
    }
  }
  return out;
}

/** What our migrations create and call: the schema a dump of ours can contain. */
export interface DumpRules {
  /** Names (lower case, unqualified) our migrations write before a parenthesis: functions, types, tables. */
  calls: Set<string>;
  extensions: Set<string>;
  /** Function name -> bodies (whitespace-normalised) as our migrations define them. */
  functions: Map<string, Set<string>>;
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Words of SQL grammar written before a parenthesis in pg_dump's DDL (not function calls). */
const GRAMMAR_CALLS = new Set([
  'any', 'all', 'array', 'check', 'key', 'unique', 'using', 'btree', 'gin', 'gist', 'hnsw', 'ivfflat', 'brin', 'hash', 'spgist',
  'in', 'include', 'with', 'on', 'where', 'and', 'or', 'not', 'default', 'as', 'is', 'exclude', 'values', 'then', 'else', 'when',
  'case', 'by', 'distinct', 'from', 'of', 'stored', 'always', 'identity', 'nulls', 'varying', 'numeric', 'decimal', 'timestamp',
  'time', 'varchar', 'char', 'character', 'bit', 'interval', 'vector', 'halfvec', 'sparsevec', 'float', 'extract',
  // DEFAULT expressions and CHECKs pg_dump prints in its own spelling.
  'schema_migrations', // created by migrate.ts, not by a migration file
  'nextval', 'now', 'gen_random_uuid', 'coalesce', 'nullif', 'greatest', 'least', 'lower', 'upper', 'position', 'length', 'char_length',
]);

/** Read our migrations once per restore. */
export function dumpRules(dir = MIGRATIONS_DIR): DumpRules {
  // pgvector is created by the code (ensureVector), not by a migration file.
  const rules: DumpRules = { calls: new Set(GRAMMAR_CALLS), extensions: new Set(['vector']), functions: new Map() };
  for (const name of migrationNames(dir)) {
    const splitter = new StatementSplitter();
    const stmts = [...splitter.push(fs.readFileSync(path.join(dir, `${name}.sql`), 'utf8')), ...splitter.end()];
    for (const s of stmts) {
      if (s.kind !== 'sql') continue;
      const toks = tokenize(s.text);
      toks.forEach((t, k) => {
        if (t.v === '(' && t.t === 'op' && k > 0 && (toks[k - 1]!.t === 'ident' || toks[k - 1]!.t === 'qident')) rules.calls.add(toks[k - 1]!.v);
      });
      const words = toks.map((t) => (t.t === 'ident' ? t.v : t.t === 'op' ? t.v : `<${t.t}>`));
      const ext = /^create extension (?:if not exists )?([a-z_0-9]+)/.exec(words.join(' '));
      if (ext) rules.extensions.add(ext[1]!);
      const fn = /^create (?:or replace )?function (?:public \. )?([a-z_0-9]+) \(/.exec(words.join(' '));
      const body = toks.find((t) => t.t === 'dollar' || t.t === 'str');
      if (fn && body) {
        const set = rules.functions.get(fn[1]!) ?? new Set<string>();
        set.add(norm(body.v));
        rules.functions.set(fn[1]!, set);
      }
    }
  }
  return rules;
}

const SET_PARAMS: Record<string, RegExp> = {
  statement_timeout: /^0$/,
  lock_timeout: /^0$/,
  idle_in_transaction_session_timeout: /^0$/,
  transaction_timeout: /^0$/,
  client_encoding: /^utf8$/i,
  standard_conforming_strings: /^on$/, // the splitter reads strings this way
  check_function_bodies: /^(false|true)$/,
  xmloption: /^content$/,
  client_min_messages: /^(warning|notice|error)$/,
  row_security: /^off$/,
  default_tablespace: /^$/,
  default_table_access_method: /^heap$/,
  default_with_oids: /^false$/,
};

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** `public.name` at tokens k..k+2; returns the name or undefined. */
function publicName(toks: Tok[], k: number): string | undefined {
  const [a, dot, b] = [toks[k], toks[k + 1], toks[k + 2]];
  if (a?.t === 'ident' && a.v === 'public' && dot?.v === '.' && dot.t === 'op' && (b?.t === 'ident' || b?.t === 'qident')) return b.v;
  return undefined;
}

/** One-line description of a statement for messages: its first words, escaped. */
export function describeStatement(text: string): string {
  const head = text.replace(/\s+/g, ' ').slice(0, 60);
  return JSON.stringify(head.length < text.replace(/\s+/g, ' ').length ? head + '…' : head);
}

/** 'skip': allowed but not run (COMMENT ON EXTENSION). */
export type StatementKind = 'insert' | 'other' | 'skip';

/** Throws DumpRejectedError unless `text` is a statement kind our backups write; returns its kind. */
export function checkStatement(text: string, rules: DumpRules): StatementKind {
  const toks = tokenize(text.replace(/;\s*$/, ''));
  const words = toks.map((t) => (t.t === 'ident' ? t.v : t.t === 'op' ? t.v : `<${t.t}>`));
  const w = (k: number): string => words[k] ?? '';
  const reject = (why: string): never => {
    throw new DumpRejectedError(`the database dump holds a statement that immich backup does not write (${why}): ${describeStatement(text)}`);
  };
  if (!toks.length) reject('empty');
  const head = w(0);

  if (head === 'insert') {
    // INSERT INTO public.t [(cols)] VALUES (literal, ...), ...: plain literals only, no expressions.
    if (w(1) !== 'into') reject('INSERT form');
    if (!publicName(toks, 2)) reject('INSERT outside the public schema');
    let k = 5;
    if (w(k) === '(') {
      k++;
      while (k < toks.length && w(k) !== ')') {
        if (!(toks[k]!.t === 'ident' || toks[k]!.t === 'qident' || w(k) === ',')) reject('INSERT column list');
        k++;
      }
      k++;
    }
    if (w(k) !== 'values') reject('INSERT without VALUES');
    let depth = 0;
    for (k++; k < toks.length; k++) {
      const t = toks[k]!;
      if (t.t === 'op') {
        if (t.v === '(') depth++;
        else if (t.v === ')') depth--;
        else if (t.v === '-' && toks[k + 1]?.t === 'num') continue;
        else if (t.v !== ',') reject(`"${t.v}" in INSERT values`);
        if (depth < 0 || depth > 1) reject('nested expression in INSERT values');
      } else if (t.t === 'str' || t.t === 'num') continue;
      else if (t.t === 'ident' && (t.v === 'null' || t.v === 'true' || t.v === 'false')) continue;
      else reject('an expression in INSERT values');
    }
    if (depth !== 0) reject('unbalanced INSERT values');
    return 'insert';
  }

  if (head === 'set') {
    const param = w(1);
    const pattern = SET_PARAMS[param];
    if (!pattern || !(w(2) === '=' || w(2) === 'to') || toks.length !== 4) reject(`SET ${param}`);
    const value = toks[3]!;
    if (!['str', 'num', 'ident'].includes(value.t) || !pattern!.test(value.v)) reject(`SET ${param}`);
    return 'other';
  }

  if (head === 'select') {
    const flat = toks.map((t) => (t.t === 'str' ? `'${t.v}'` : t.v)).join(' ');
    if (flat === "select pg_catalog . set_config ( 'search_path' , '' , false )") return 'other';
    const m = /^select pg_catalog \. setval \( 'public\.([a-z_][a-z0-9_]*)' , [0-9]+ , (true|false) \)$/.exec(flat);
    if (m) return 'other';
    reject('SELECT');
  }

  if (head === 'comment') {
    // COMMENT ON EXTENSION x IS '...' (pg_dump of a server), COMMENT ON TABLE/COLUMN public.x IS '...'.
    if (w(1) === 'on' && ['extension', 'table', 'column', 'index', 'schema'].includes(w(2)) && w(words.length - 2) === 'is' && toks.at(-1)!.t === 'str') {
      // An extension's comment is its own (CREATE EXTENSION sets it) and only its owner, maybe not
      // the restoring role, may set it: not run.
      if (toks.slice(3, -2).every((t) => t.t === 'ident' || t.t === 'qident' || t.v === '.')) return w(2) === 'extension' ? 'skip' : 'other';
    }
    reject('COMMENT');
  }

  if (head === 'create' && w(1) === 'extension') {
    if (w(2) === 'if' && w(3) === 'not' && w(4) === 'exists' && rules.extensions.has(w(5)) && w(6) === 'with' && w(7) === 'schema' && w(8) === 'public' && toks.length === 9) return 'other';
    reject(`CREATE EXTENSION ${w(5) || w(2)}`);
  }

  if (head === 'create' && (w(1) === 'function' || (w(1) === 'or' && w(3) === 'function'))) {
    const at = w(1) === 'function' ? 2 : 4;
    const name = publicName(toks, at);
    const known = name ? rules.functions.get(name) : undefined;
    const bodies = toks.filter((t) => t.t === 'dollar' || t.t === 'str' || t.t === 'estr');
    const lang = words.indexOf('language');
    if (!name || !known || bodies.length !== 1 || !known.has(norm(bodies[0]!.v))) reject(`function ${name ?? '?'} is not one of ours`);
    if (lang < 0 || !['sql', 'plpgsql'].includes(w(lang + 1))) reject('function language');
    return 'other';
  }

  // The schema: no literal function bodies, no sub-queries, every call one our migrations make.
  const ddl =
    (head === 'create' && ['table', 'sequence', 'index', 'unique', 'trigger'].includes(w(1))) ||
    (head === 'alter' && ['table', 'sequence'].includes(w(1)));
  if (!ddl) reject(`${head.toUpperCase()}${w(1) && /^[a-z]+$/.test(w(1)) ? ' ' + w(1).toUpperCase() : ''}`);
  if (toks.some((t) => t.t === 'dollar' || t.t === 'estr')) reject('a quoted body');
  // No sub-queries (SELECT is reserved, so a column of that name is quoted and not seen here).
  if (words.includes('select')) reject(`SELECT in ${head.toUpperCase()} ${w(1).toUpperCase()}`);
  if (head === 'create' && w(1) === 'trigger') {
    // CREATE TRIGGER ... EXECUTE FUNCTION public.f(): f must be one of our functions, nothing after it.
    const e = words.lastIndexOf('execute');
    const fn = publicName(toks, e + 2);
    if (e < 0 || !['function', 'procedure'].includes(w(e + 1)) || !fn || !rules.functions.has(fn) || w(e + 5) !== '(' || w(e + 6) !== ')' || toks.length !== e + 7) {
      reject('trigger function is not one of ours');
    }
  }
  const target = head === 'create' && w(1) === 'unique' ? 3 : 2;
  if (head === 'create' && ['table', 'sequence'].includes(w(1)) && !publicName(toks, 2)) reject(`${w(1).toUpperCase()} outside the public schema`);
  if (head === 'alter') {
    const k = w(2) === 'only' ? 3 : 2;
    if (!publicName(toks, k)) reject(`ALTER ${w(1).toUpperCase()} outside the public schema`);
    const action = `${w(k + 3)} ${w(k + 4)}`;
    if (w(1) === 'table' && !(action.startsWith('add constraint') || (action.startsWith('alter column') && w(k + 6) === 'set' && w(k + 7) === 'default'))) {
      reject(`ALTER TABLE ... ${action.toUpperCase()}`);
    }
    if (w(1) === 'sequence' && action !== 'owned by') reject(`ALTER SEQUENCE ... ${action.toUpperCase()}`);
  }
  if ((head === 'create' && (w(1) === 'index' || w(1) === 'unique' || w(1) === 'trigger')) && !words.slice(target).includes('on')) reject('no table');
  toks.forEach((t, k) => {
    if (!(t.t === 'op' && t.v === '(') || k === 0) return;
    const prev = toks[k - 1]!;
    if (prev.t !== 'ident' && prev.t !== 'qident') return;
    // the name after REFERENCES is a table; after CREATE TABLE/TYPE it is the one being created
    const before = toks[k - 2]?.v === '.' ? toks[k - 4] : toks[k - 2];
    if (before?.t === 'ident' && before.v === 'references') return;
    if (!rules.calls.has(prev.v)) reject(`a call to ${prev.v}()`);
  });
  return 'other';
}

export interface DumpLimits {
  /** Unpacked bytes the snapshot recorded, when it did. */
  sqlBytes?: number;
  /** Packed size (the object's plaintext). */
  packedBytes: number;
}

/**
 * Statements of a gzipped dump, each checked before it is yielded. The unpacked size is bounded by
 * what the snapshot recorded (or, for older snapshots, a multiple of the packed size), so a small
 * object that unpacks to gigabytes stops at the limit. Memory stays at one statement.
 */
export async function* readDump(source: Readable, limits: DumpLimits, rules: DumpRules): AsyncGenerator<{ text: string; kind: StatementKind }> {
  const limit = limits.sqlBytes ?? Math.max(16 * 1024 * 1024, limits.packedBytes * LEGACY_EXPANSION);
  const gunzip = zlib.createGunzip();
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const decoder = new StringDecoder('utf8');
  const splitter = new StatementSplitter();
  let bytes = 0;
  const handle = function* (items: Array<{ kind: 'sql' | 'meta'; text: string }>): Generator<{ text: string; kind: StatementKind }> {
    for (const s of items) {
      if (s.kind === 'meta') {
        // pg_dump (since 17.6/16.10/15.14) brackets a plain dump in \restrict KEY ... \unrestrict KEY;
        // they only guard psql and are skipped here. Any other backslash command is refused.
        if (/^\\(un)?restrict [A-Za-z0-9]+$/.test(s.text)) continue;
        throw new DumpRejectedError(`the database dump holds a psql meta-command, which immich backup never writes: ${describeStatement(s.text)}`);
      }
      yield { text: s.text, kind: checkStatement(s.text, rules) };
    }
  };
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) {
        throw new DumpRejectedError(
          `the database dump unpacks to more than ${limit} bytes (${limits.sqlBytes !== undefined ? 'the size the snapshot recorded' : `${LEGACY_EXPANSION} times its packed size`}): damaged or tampered`,
        );
      }
      yield* handle(splitter.push(decoder.write(chunk)));
    }
  } catch (err) {
    if (err instanceof RepositoryError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || /incorrect header|unexpected end|invalid/i.test((err as Error).message)) {
      throw new DumpRejectedError(`the database dump is damaged: ${(err as Error).message}`);
    }
    throw err;
  } finally {
    source.unpipe(gunzip);
    source.destroy();
    gunzip.destroy();
  }
  yield* handle(splitter.push(decoder.end()));
  yield* handle(splitter.end());
  if (limits.sqlBytes !== undefined && bytes !== limits.sqlBytes) {
    throw new DumpRejectedError(`the database dump unpacks to ${bytes} bytes, the snapshot recorded ${limits.sqlBytes}: damaged or tampered`);
  }
}
