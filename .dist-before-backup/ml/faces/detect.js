// SCRFD face detection (InsightFace export with 5 keypoints): letterbox into a square input, decode the
// three stride heads, non-maximum suppression, and map boxes and landmarks back to image pixels.
import sharp from 'sharp';
/** Letterbox: keep the aspect ratio, scale into size×size, pad right and bottom with black. */
export async function letterbox(img, size) {
    const scale = Math.min(size / img.width, size / img.height);
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    const resized = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } })
        .removeAlpha()
        .resize(w, h, { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer();
    const plane = size * size;
    // padding is 0 in the normalised input, as in InsightFace's reference code
    const tensor = new Float32Array(3 * plane);
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            const s = (y * w + x) * 3;
            const d = y * size + x;
            tensor[d] = (resized[s] - 127.5) / 128;
            tensor[plane + d] = (resized[s + 1] - 127.5) / 128;
            tensor[2 * plane + d] = (resized[s + 2] - 127.5) / 128;
        }
    }
    return { tensor, scale: w / img.width };
}
/** Outputs are grouped by their last dimension (1 scores, 4 boxes, 10 keypoints), strides by row count. */
function heads(outputs, size) {
    const byWidth = new Map();
    for (const t of Object.values(outputs)) {
        const width = t.dims[t.dims.length - 1];
        const rows = t.data.length / width;
        if (!byWidth.has(width))
            byWidth.set(width, []);
        byWidth.get(width).push({ rows, data: t.data });
    }
    const scores = (byWidth.get(1) ?? []).sort((a, b) => b.rows - a.rows);
    const boxes = (byWidth.get(4) ?? []).sort((a, b) => b.rows - a.rows);
    const kps = (byWidth.get(10) ?? []).sort((a, b) => b.rows - a.rows);
    if (!scores.length || scores.length !== boxes.length) {
        throw new Error('not an SCRFD model: expected score [N,1] and box [N,4] outputs per stride');
    }
    return scores.map((s, i) => {
        // anchors per cell × (size/stride)² = rows
        const cells = s.rows / 2;
        const stride = size / Math.sqrt(cells);
        return { stride, scores: s.data, boxes: boxes[i].data, kps: kps[i]?.data };
    });
}
/** The detector input for an image; made ahead of time to overlap decoding with inference. */
export async function prepareDetection(img, size = 640) {
    return { ...(await letterbox(img, size)), size };
}
export async function detectFaces(model, img, opts, prepared) {
    const size = opts.inputSize ?? 640;
    const { tensor, scale } = prepared && prepared.size === size ? prepared : await letterbox(img, size);
    const input = new model.ort.Tensor('float32', tensor, [1, 3, size, size]);
    const out = await model.session.run({ [model.inputNames[0]]: input });
    return decodeScrfd(out, size, scale, opts);
}
export function decodeScrfd(outputs, size, scale, opts) {
    const found = [];
    for (const h of heads(outputs, size)) {
        const cols = Math.round(size / h.stride);
        const n = h.scores.length;
        for (let i = 0; i < n; i++) {
            const score = h.scores[i];
            if (score < opts.minScore)
                continue;
            const cell = i >> 1; // 2 anchors per cell
            const cx = (cell % cols) * h.stride;
            const cy = Math.floor(cell / cols) * h.stride;
            const b = h.boxes;
            const box = [
                (cx - b[i * 4] * h.stride) / scale,
                (cy - b[i * 4 + 1] * h.stride) / scale,
                (cx + b[i * 4 + 2] * h.stride) / scale,
                (cy + b[i * 4 + 3] * h.stride) / scale,
            ];
            const landmarks = [];
            if (h.kps) {
                for (let k = 0; k < 5; k++) {
                    landmarks.push([(cx + h.kps[i * 10 + k * 2] * h.stride) / scale, (cy + h.kps[i * 10 + k * 2 + 1] * h.stride) / scale]);
                }
            }
            found.push({ box, score, landmarks });
        }
    }
    return nms(found, opts.nmsIou ?? 0.4);
}
export function iou(a, b) {
    const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
    const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
    if (w <= 0 || h <= 0)
        return 0;
    const inter = w * h;
    const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
    return inter / (area(a) + area(b) - inter);
}
export function nms(faces, threshold) {
    const sorted = [...faces].sort((a, b) => b.score - a.score);
    const keep = [];
    for (const f of sorted)
        if (keep.every((k) => iou(k.box, f.box) <= threshold))
            keep.push(f);
    return keep;
}
//# sourceMappingURL=detect.js.map