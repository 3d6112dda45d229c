// The custom metadata of an ONNX file (ModelProto.metadata_props, field 14: key/value strings), read by
// walking the top-level protobuf fields and skipping the graph. onnxruntime-node does not expose it, and
// Immich's PP-OCRv5 recognisers carry their character list there ("character", one per line).
import fsp from 'node:fs/promises';

function varint(buf: Buffer, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** Length-delimited fields of one message level: [field number, bytes]. */
function fields(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let pos = 0;
  while (pos < buf.length) {
    let tag: number;
    [tag, pos] = varint(buf, pos);
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        [, pos] = varint(buf, pos);
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        let len: number;
        [len, pos] = varint(buf, pos);
        out.push([field, buf.subarray(pos, pos + len)]);
        pos += len;
        break;
      }
      default:
        throw new Error(`unsupported protobuf wire type ${tag & 7}`);
    }
  }
  return out;
}

/** metadata_props of an ONNX model file as a plain object (empty when there are none or the file is not ONNX). */
export async function readOnnxMetadata(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    for (const [field, bytes] of fields(await fsp.readFile(file))) {
      if (field !== 14) continue;
      let key = '';
      let value = '';
      for (const [f, b] of fields(bytes)) {
        if (f === 1) key = b.toString('utf8');
        else if (f === 2) value = b.toString('utf8');
      }
      if (key) out[key] = value;
    }
  } catch {
    return out;
  }
  return out;
}
