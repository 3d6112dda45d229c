// A tiny ONNX model built in the test with protobufjs (y = x · W, MatMul), so the models registry,
// `immich models pull/add/verify` and the runtime are tested without any downloaded model.
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, producerName: { type: 'string', id: 2 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 }, name: { type: 'string', id: 2 }, initializer: { rule: 'repeated', type: 'TensorProto', id: 5 }, input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 }, output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 } } },
        NodeProto: { fields: { input: { rule: 'repeated', type: 'string', id: 1 }, output: { rule: 'repeated', type: 'string', id: 2 }, name: { type: 'string', id: 3 }, opType: { type: 'string', id: 4 } } },
        TensorProto: { fields: { dims: { rule: 'repeated', type: 'int64', id: 1 }, dataType: { type: 'int32', id: 2 }, floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } }, name: { type: 'string', id: 8 } } },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
});

const FLOAT = 1;
const shape = (dims: Array<number | string>) => ({ dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) });

/** A ModelProto (opset 13) around `graph`, encoded. */
function encodeModel(graph: Record<string, unknown>): Buffer {
  const Model = root.lookupType('onnx.ModelProto');
  return Buffer.from(Model.encode(Model.fromObject({ irVersion: 8, producerName: 'immich-test', opsetImport: [{ domain: '', version: 13 }], graph })).finish());
}

/** MatMul model: input `x` [batch, n] float32 → output `y` [batch, m]; `weights` is n×m row-major. */
export function tinyMatMulModel(n = 4, m = 2, weights?: number[]): Buffer {
  const w = weights ?? Array.from({ length: n * m }, (_, i) => (i % (m + 1) === 0 ? 1 : 0.5));
  return encodeModel({
    name: 'tiny',
    node: [{ input: ['x', 'W'], output: ['y'], name: 'matmul', opType: 'MatMul' }],
    initializer: [{ name: 'W', dims: [n, m], dataType: FLOAT, floatData: w }],
    input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: shape(['batch', n]) } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: shape(['batch', m]) } } }],
  });
}

/**
 * A recogniser with the I/O of Immich's ArcFace exports (buffalo_l recognition: `input.1` [N,3,112,112]
 * → `683` [N,512]): GlobalAveragePool → Flatten → MatMul, so a 512-d embedding of the crop's mean colour.
 */
export function tinyArcFaceModel(dim = 512): Buffer {
  const w = Array.from({ length: 3 * dim }, (_, i) => Math.sin(i + 1));
  return encodeModel({
    name: 'tiny-arcface',
    node: [
      { input: ['input.1'], output: ['pooled'], name: 'pool', opType: 'GlobalAveragePool' },
      { input: ['pooled'], output: ['flat'], name: 'flatten', opType: 'Flatten' },
      { input: ['flat', 'W'], output: ['683'], name: 'proj', opType: 'MatMul' },
    ],
    initializer: [{ name: 'W', dims: [3, dim], dataType: FLOAT, floatData: w }],
    input: [{ name: 'input.1', type: { tensorType: { elemType: FLOAT, shape: shape(['None', 3, 112, 112]) } } }],
    output: [{ name: '683', type: { tensorType: { elemType: FLOAT, shape: shape(['None', dim]) } } }],
  });
}

/** The model with ModelProto.metadata_props (field 14) appended, as rapidocr writes "character" into PP-OCR exports. */
export function withOnnxMetadata(model: Buffer, props: Record<string, string>): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  };
  const str = (tag: number, s: string) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([tag]), varint(b.length), b]);
  };
  const entries = Object.entries(props).map(([k, v]) => {
    const inner = Buffer.concat([str(0x0a, k), str(0x12, v)]);
    return Buffer.concat([Buffer.from([0x72]), varint(inner.length), inner]);
  });
  return Buffer.concat([model, ...entries]);
}
