// How a person reads a name: the CLI's human output and the web gallery show file names the same way.
// No imports, so the gallery's browser bundle can use it (raw-path.ts holds the rest of the text form).

/**
 * The text form (raw-path.ts) as a person reads it: each escaped byte as \xHH (as terminal escape codes
 * are shown), a real U+FFFD as itself. Lossy where a name holds a literal "\x": --json is the lossless form.
 */
export function displayPath(p: string): string {
  if (!p.includes('\uFFFD')) return p;
  return p.replace(/(\uFFFDEF\uFFFDBF\uFFFDBD)|\uFFFD([0-9A-F]{2})/g, (_m, mark: string | undefined, h: string) => (mark ? '\uFFFD' : `\\x${h.toLowerCase()}`));
}

/**
 * Human output never passes a control character through: a file name holding a newline or a
 * terminal escape sequence could otherwise fake an `immich:` line or rewrite the screen. Newlines,
 * tabs, ESC and the other C0/C1 controls and bidirectional overrides are printed as escapes (\n,
 * \x1b, \u202e), and a byte of a name that is not UTF-8 as \xHH (displayPath).
 */
export function escapeControl(text: string): string {
  return displayPath(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
