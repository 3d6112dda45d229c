// A tiny CLIP model pair in Immich's export format, generated with protobufjs, so smart search can be
// tested without real weights. Same names and shapes as Immich's ViT exports:
//   visual:  image [N,3,224,224] float32 → embedding [N,D]   (GlobalAveragePool → Flatten → MatMul → Add)
//   textual: text  [N,77] int32          → embedding [N,D]   (Gather(table) → ReduceMean over tokens)
// The visual projection un-normalises the mean colour (x·std + mean − 0.5); the text table maps colour
// words (and a few scene words) to the same centred RGB, so "red" ↔ red pictures is a real similarity.
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ClipTokenizer } from '../../src/ml/clip-tokenizer.js';

const ONNX_JSON = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            data_type: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } },
        },
        TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
      },
    },
  },
};

const FLOAT = 1;
const INT32 = 6;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Dim = number | string;
const valueInfo = (name: string, elem: number, dims: Dim[]) => ({
  name,
  type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});
const floatTensor = (name: string, dims: number[], data: Float32Array) => ({
  name,
  dims,
  data_type: FLOAT,
  raw_data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
});

function encodeModel(graph: object): Buffer {
  const root = protobuf.Root.fromJSON(ONNX_JSON);
  const Model = root.lookupType('onnx.ModelProto');
  const msg = Model.fromObject({ ir_version: 8, producer_name: 'immich-test', opset_import: [{ domain: '', version: 13 }], graph });
  return Buffer.from(Model.encode(msg).finish());
}

export const TEST_DIM = 4;
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

/** Centred RGB (each −0.5..0.5) of the words the test model knows, plus a constant 4th component. */
export const COLOUR_WORDS: Record<string, [number, number, number]> = {
  red: [1, 0, 0], green: [0, 1, 0], blue: [0, 0, 1], yellow: [1, 1, 0], cyan: [0, 1, 1], magenta: [1, 0, 1],
  white: [1, 1, 1], black: [0, 0, 0], orange: [1, 0.5, 0],
  // scenes used by zero-shot tagging, tied to a colour so a test can see them
  sunset: [1, 0.5, 0], forest: [0, 1, 0], sea: [0, 0, 1],
};

export function visualModel(): Buffer {
  const w = new Float32Array(3 * TEST_DIM);
  for (let c = 0; c < 3; c++) w[c * TEST_DIM + c] = STD[c]!;
  const b = new Float32Array(TEST_DIM);
  for (let c = 0; c < 3; c++) b[c] = MEAN[c]! - 0.5;
  b[3] = 0.05;
  return encodeModel({
    name: 'clip-visual-test',
    node: [
      { op_type: 'GlobalAveragePool', input: ['image'], output: ['pooled'], name: 'pool' },
      { op_type: 'Flatten', input: ['pooled'], output: ['flat'], name: 'flatten', attribute: [{ name: 'axis', i: 1, type: ATTR_INT }] },
      { op_type: 'MatMul', input: ['flat', 'W'], output: ['proj'], name: 'proj' },
      { op_type: 'Add', input: ['proj', 'B'], output: ['embedding'], name: 'bias' },
    ],
    initializer: [floatTensor('W', [3, TEST_DIM], w), floatTensor('B', [TEST_DIM], b)],
    input: [valueInfo('image', FLOAT, ['batch_size', 3, 224, 224])],
    output: [valueInfo('embedding', FLOAT, ['batch_size', TEST_DIM])],
  });
}

export function textualModel(): Buffer {
  const vocab = 49408;
  const table = new Float32Array(vocab * TEST_DIM);
  const tok = new ClipTokenizer();
  for (const [word, rgb] of Object.entries(COLOUR_WORDS)) {
    for (const id of tok.wordIds(word)) {
      for (let c = 0; c < 3; c++) table[id * TEST_DIM + c] = rgb[c]! - 0.5;
      table[id * TEST_DIM + 3] = 0.05;
    }
  }
  return encodeModel({
    name: 'clip-textual-test',
    node: [
      { op_type: 'Gather', input: ['table', 'text'], output: ['tokens'], name: 'embed', attribute: [{ name: 'axis', i: 0, type: ATTR_INT }] },
      {
        op_type: 'ReduceMean',
        input: ['tokens'],
        output: ['embedding'],
        name: 'pool',
        attribute: [
          { name: 'axes', ints: [1], type: ATTR_INTS },
          { name: 'keepdims', i: 0, type: ATTR_INT },
        ],
      },
    ],
    initializer: [floatTensor('table', [vocab, TEST_DIM], table)],
    input: [valueInfo('text', INT32, ['batch_size', 77])],
    output: [valueInfo('embedding', FLOAT, ['batch_size', TEST_DIM])],
  });
}

/** Write the pair in Immich's layout: <modelsDir>/clip/<name>/{config.json, visual/, textual/}. */
export function installTestClip(modelsDir: string, name = 'ViT-B-32__openai'): string {
  const root = path.join(modelsDir, 'clip', name);
  fs.mkdirSync(path.join(root, 'visual'), { recursive: true });
  fs.mkdirSync(path.join(root, 'textual'), { recursive: true });
  fs.writeFileSync(path.join(root, 'visual', 'model.onnx'), visualModel());
  fs.writeFileSync(path.join(root, 'textual', 'model.onnx'), textualModel());
  fs.writeFileSync(
    path.join(root, 'config.json'),
    JSON.stringify({ embed_dim: TEST_DIM, vision_cfg: { image_size: 224 }, text_cfg: { context_length: 77 } }),
  );
  fs.writeFileSync(
    path.join(root, 'visual', 'preprocess_cfg.json'),
    JSON.stringify({ size: [224, 224], mode: 'RGB', mean: MEAN, std: STD, interpolation: 'bicubic', resize_mode: 'shortest', fill_color: 0 }),
  );
  fs.writeFileSync(path.join(root, 'textual', 'tokenizer_config.json'), JSON.stringify({ pad_token: '<|endoftext|>', model_max_length: 77 }));
  return root;
}
