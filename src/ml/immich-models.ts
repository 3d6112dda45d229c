// Immich's own model names (immich-app/immich, machine-learning/immich_ml/models/constants.py) with the
// files Immich's cache holds for each, fetched from the `immich-app/<name>` Hugging Face repositories at a
// commit (pinned here, else recorded on the first download, or given with --revision) and used as they
// are (no conversion):
//   facial-recognition/<name>/{detection,recognition}/model.onnx   SCRFD (input.1, 9 outputs) + ArcFace 512-d
//   clip/<name>/config.json, visual/{model.onnx,preprocess_cfg.json}, textual/{model.onnx,tokenizer*.json}
//   ocr/<name>/{detection,recognition}/model.onnx                   PP-OCRv5 DB detector (x) + CTC recogniser
// Checksums: only where a public reference states the sha256 of the file at that URL (noted per entry);
// everything else is recorded on first download and checked on every later pull (trust on first use).
import type { ModelFileSpec, ModelSpec } from './models.js';

const INSIGHTFACE = 'InsightFace pretrained weights: non-commercial research only';

/** SCRFD-10GF (det_10g.onnx, buffalo_l) and ArcFace R50 (w600k_r50.onnx, buffalo_l/buffalo_m): sha256 and
 * size as pinned for the immich-app/buffalo_l and buffalo_m URLs by several public projects. */
const DET_10G: ModelFileSpec = { path: 'detection/model.onnx', sha256: '5838f7fe053675b1c7a08b633df49e7af5495cee0493c7dcf6697200b85b5b91', size: 16_923_827 };
const W600K_R50: ModelFileSpec = { path: 'recognition/model.onnx', sha256: '4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43', size: 174_383_860 };
/** SCRFD-2.5GF (det_2.5g.onnx, buffalo_m) and SCRFD-500MF (det_500m.onnx, buffalo_s): sha256 as listed for
 * the InsightFace model zoo's buffalo_m / buffalo_s packs by public mirrors (det_500m's is also the
 * scrfd_500m entry of models.ts, whose size it shares). Immich's export is taken to be the zoo file as
 * published: if it is not, the pull stops with a checksum mismatch and installs nothing. */
const DET_2_5G: ModelFileSpec = { path: 'detection/model.onnx', sha256: '041f73f47371333d1d17a6fee6c8ab4e6aecabefe398ff32cca4e2d5eaee0af9' };
const DET_500M: ModelFileSpec = { path: 'detection/model.onnx', sha256: '5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a', size: 2_524_817 };
/** MobileFaceNet (w600k_mbf.onnx, buffalo_s). */
const W600K_MBF: ModelFileSpec = { path: 'recognition/model.onnx', sha256: '9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f' };
const DETECTION: ModelFileSpec = { path: 'detection/model.onnx' };
const RECOGNITION: ModelFileSpec = { path: 'recognition/model.onnx' };

function faces(name: string, revision: string | undefined, description: string, files: ModelFileSpec[]): ModelSpec {
  return {
    task: 'facial-recognition',
    name,
    description,
    license: INSIGHTFACE,
    parts: [{ part: 'detection' }, { part: 'recognition' }],
    hub: { repo: `immich-app/${name}`, revision, files },
  };
}

const CLIP_FILES: ModelFileSpec[] = [
  { path: 'config.json' },
  { path: 'visual/model.onnx' },
  { path: 'visual/preprocess_cfg.json' },
  { path: 'textual/model.onnx' },
  { path: 'textual/tokenizer_config.json' },
  { path: 'textual/tokenizer.json', optional: true },
];

/**
 * Every CLIP name Immich lists. Commits are pinned where one of the repository's commits is known here;
 * for the others the commit `main` resolves to on the first download is recorded and every later file
 * of the model is fetched at it (pull.ts), or --revision <commit> pins one.
 */
const CLIP_REVISIONS: Record<string, string | undefined> = {
  'ViT-B-32__openai': '77520f2136c0467e32b012be8d190ccf110c5667',
  'ViT-B-16__openai': '009f6847bd1b5785f7ff23fcac3199fe4fe48617',
  'ViT-L-14__openai': '70bdb5b1917f1d05a14ee030ef092c1d14bb5738',
  'RN50__openai': '7ebf51fb16c6dd6ee71e28bd73d1a05f27d3914e',
  'ViT-B-32__laion2b-s34b-b79k': '8204c663a7b5aa2edd55e0df578b39f57af07376',
  'ViT-B-32__laion2b_e16': 'a5f93286e8e9dbcf112e7339a96986f03348a192',
  'ViT-B-16-plus-240__laion400m_e32': '0a2a8a9fd2f30413280bacb6171c85d92c43c7ed',
};
export const IMMICH_CLIP_NAMES = [
  'RN101__openai', 'RN101__yfcc15m', 'RN50__cc12m', 'RN50__openai', 'RN50__yfcc15m', 'RN50x16__openai', 'RN50x4__openai',
  'RN50x64__openai', 'ViT-B-16-SigLIP-256__webli', 'ViT-B-16-SigLIP-384__webli', 'ViT-B-16-SigLIP-512__webli',
  'ViT-B-16-SigLIP-i18n-256__webli', 'ViT-B-16-SigLIP__webli', 'ViT-B-16-plus-240__laion400m_e31', 'ViT-B-16-plus-240__laion400m_e32',
  'ViT-B-16__laion400m_e31', 'ViT-B-16__laion400m_e32', 'ViT-B-16__openai', 'ViT-B-32__laion2b-s34b-b79k', 'ViT-B-32__laion2b_e16',
  'ViT-B-32__laion400m_e31', 'ViT-B-32__laion400m_e32', 'ViT-B-32__openai', 'ViT-H-14-378-quickgelu__dfn5b', 'ViT-H-14-quickgelu__dfn5b',
  'ViT-H-14__laion2b-s32b-b79k', 'ViT-L-14-336__openai', 'ViT-L-14-quickgelu__dfn2b', 'ViT-L-14__laion2b-s32b-b82k',
  'ViT-L-14__laion400m_e31', 'ViT-L-14__laion400m_e32', 'ViT-L-14__openai', 'ViT-L-16-SigLIP-256__webli', 'ViT-L-16-SigLIP-384__webli',
  'ViT-SO400M-14-SigLIP-384__webli', 'ViT-g-14__laion2b-s12b-b42k', 'XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k',
  'XLM-Roberta-Large-ViT-H-14__frozen_laion5b_s13b_b90k', 'nllb-clip-base-siglip__mrl', 'nllb-clip-base-siglip__v1',
  'nllb-clip-large-siglip__mrl', 'nllb-clip-large-siglip__v1', 'ViT-B-16-SigLIP2__webli', 'ViT-B-32-SigLIP2-256__webli',
  'ViT-L-16-SigLIP2-256__webli', 'ViT-L-16-SigLIP2-384__webli', 'ViT-L-16-SigLIP2-512__webli', 'ViT-SO400M-14-SigLIP2-378__webli',
  'ViT-SO400M-14-SigLIP2__webli', 'ViT-SO400M-16-SigLIP2-256__webli', 'ViT-SO400M-16-SigLIP2-384__webli',
  'ViT-SO400M-16-SigLIP2-512__webli', 'ViT-gopt-16-SigLIP2-256__webli', 'ViT-gopt-16-SigLIP2-384__webli', 'fg-clip2-base',
  // Multilingual CLIP (M-CLIP)
  'LABSE-Vit-L-14', 'XLM-Roberta-Large-Vit-B-16Plus', 'XLM-Roberta-Large-Vit-B-32', 'XLM-Roberta-Large-Vit-L-14',
] as const;

/**
 * Text search tokenises with OpenAI's CLIP BPE (clip-tokenizer.ts). SigLIP, XLM-Roberta, NLLB, LaBSE and
 * FG-CLIP exports use other tokenizers (SentencePiece, WordPiece): their images embed fine, but a text
 * query would be tokenised wrongly, so text search refuses them with a clear message.
 */
export function clipTokenizerSupported(name: string): boolean {
  return !/SigLIP|Roberta|nllb|LABSE|fg-clip/i.test(name);
}

function clip(name: string): ModelSpec {
  const textNote = clipTokenizerSupported(name) ? '' : '; text search needs a tokenizer this CLI lacks (image search works)';
  return {
    task: 'clip',
    name,
    description: `Immich's CLIP export ${name} (visual + textual)${textNote}`,
    license: /openai/.test(name) ? 'MIT' : 'see the model card',
    parts: [{ part: 'visual' }, { part: 'textual' }],
    hub: { repo: `immich-app/${name}`, revision: CLIP_REVISIONS[name], files: CLIP_FILES },
  };
}

const OCR_FILES: ModelFileSpec[] = [
  { path: 'detection/model.onnx' },
  { path: 'recognition/model.onnx' },
  // Immich reads the character list from the recogniser's metadata ("character"), else from charset.txt.
  { path: 'recognition/charset.txt', optional: true },
];

export const IMMICH_MODELS: readonly ModelSpec[] = [
  faces('buffalo_l', 'f833e51b56d96744b95c40af840411bfbcfd5995', "Immich's default: SCRFD-10GF + ArcFace ResNet-50 512-d (WebFace600K)", [DET_10G, W600K_R50]),
  faces('buffalo_m', undefined, 'SCRFD-2.5GF + ArcFace ResNet-50 512-d', [DET_2_5G, W600K_R50]),
  faces('buffalo_s', '0ff1751885575e62e084dff70549ce24a11fa5dc', 'SCRFD-500MF + MobileFaceNet 512-d (smallest)', [DET_500M, W600K_MBF]),
  faces('antelopev2', 'eabf859e4fe873cbdd2f60a27569f932a104c431', 'SCRFD-10GF + ArcFace ResNet-100 512-d (Glint360K)', [DETECTION, RECOGNITION]),
  ...IMMICH_CLIP_NAMES.map(clip),
  {
    task: 'ocr',
    name: 'PP-OCRv5_mobile',
    description: "PaddleOCR PP-OCRv5 mobile det + rec in Immich's export (Chinese, English, Japanese)",
    license: 'Apache-2.0',
    parts: [{ part: 'detection' }, { part: 'recognition' }],
    hub: { repo: 'immich-app/PP-OCRv5_mobile', revision: undefined, files: OCR_FILES },
  },
];
