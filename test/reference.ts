// An independent float64 reference of the Sequential forward pass and loss, written plainly in JS from the
// layer definitions (PyTorch semantics), for end-to-end gradient checks by central finite differences.
import type { LayerSpec } from '../ts/src/index.js';

type Params = Record<string, Float64Array>;

const pair = (v: number | readonly [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** Returns the mean cross-entropy of `x` (n samples of inputShape) and the logits. */
export function referenceLoss(
  inputShape: number[],
  layers: LayerSpec[],
  params: Params,
  x: Float64Array,
  labels: number[],
): { loss: number; logits: Float64Array } {
  const n = labels.length;
  let shape = [...inputShape];
  let a = x;
  layers.forEach((l, li) => {
    const name = l.name ?? String(li);
    if (l.type === 'conv2d') {
      const [c, h, w] = shape;
      const [kh, kw] = pair(l.kernelSize, 1);
      const [sh, sw] = pair(l.stride, 1);
      const [dh, dw] = pair(l.dilation, 1);
      const [ph, pw] = l.padding === undefined || l.padding === 'valid' ? [0, 0] : pair(l.padding as number, 0);
      const o = l.filters;
      const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
      const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
      const W = params[`${name}.weight`];
      const B = params[`${name}.bias`];
      const out = new Float64Array(n * o * oh * ow);
      for (let s = 0; s < n; s++)
        for (let oc = 0; oc < o; oc++)
          for (let y = 0; y < oh; y++)
            for (let xx = 0; xx < ow; xx++) {
              let acc = B ? B[oc] : 0;
              for (let ic = 0; ic < c; ic++)
                for (let i = 0; i < kh; i++)
                  for (let j = 0; j < kw; j++) {
                    const iy = y * sh + i * dh - ph;
                    const ix = xx * sw + j * dw - pw;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    acc += W[((oc * c + ic) * kh + i) * kw + j] * a[((s * c + ic) * h + iy) * w + ix];
                  }
              out[((s * o + oc) * oh + y) * ow + xx] = acc;
            }
      a = out;
      shape = [o, oh, ow];
    } else if (l.type === 'relu') {
      a = a.map((v) => (v > 0 ? v : 0));
    } else if (l.type === 'maxPool2d') {
      const [c, h, w] = shape;
      const [kh, kw] = pair(l.poolSize, 1);
      const [sh, sw] = pair(l.stride, kh);
      const oh = Math.floor((h - kh) / sh) + 1;
      const ow = Math.floor((w - kw) / sw) + 1;
      const out = new Float64Array(n * c * oh * ow);
      for (let p = 0; p < n * c; p++)
        for (let y = 0; y < oh; y++)
          for (let xx = 0; xx < ow; xx++) {
            let m = -Infinity;
            for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) m = Math.max(m, a[p * h * w + (y * sh + i) * w + xx * sw + j]);
            out[p * oh * ow + y * ow + xx] = m;
          }
      a = out;
      shape = [c, oh, ow];
    } else if (l.type === 'flatten') {
      shape = [shape.reduce((p, q) => p * q, 1)];
    } else if (l.type === 'dense') {
      const inp = shape[0];
      const W = params[`${name}.weight`];
      const B = params[`${name}.bias`];
      const out = new Float64Array(n * l.units);
      for (let s = 0; s < n; s++)
        for (let j = 0; j < l.units; j++) {
          let acc = B ? B[j] : 0;
          for (let i = 0; i < inp; i++) acc += W[j * inp + i] * a[s * inp + i];
          out[s * l.units + j] = acc;
        }
      a = out;
      shape = [l.units];
    }
  });
  const k = shape[0];
  let loss = 0;
  for (let s = 0; s < n; s++) {
    const row = a.subarray(s * k, (s + 1) * k);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    loss += lse - row[labels[s]];
  }
  return { loss: loss / n, logits: a };
}
