// Asking before a bulk change: only when a person is there (stdin and stderr are terminals).
import readline from 'node:readline/promises';

/** Whether to go on: true without a terminal (scripts), with --yes, or when the user answers y. */
export async function confirmCount(question: string, opts: { yes?: boolean; count: number }): Promise<boolean> {
  if (opts.yes || opts.count <= 1 || !process.stdin.isTTY || !process.stderr.isTTY) return true;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
