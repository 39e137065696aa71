// An independent float64 forward pass of a compiled graph model (PyTorch semantics, written plainly from
// the layer definitions), for model-level finite-difference gradient checks. It walks `model.graph.nodes`
// (shapes and resolved windows from the graph compiler; the torch goldens check those per op) and computes
// every node itself: fusions, folding, aliases and the plan's memory play no part here. Dropout's mask is
// the kernel's documented hash of (seed, counter, unit), recomputed with BigInt.
import type { Model } from '../ts/src/index.js';
import { erfc } from './reference13.js';

type Params = Record<string, Float64Array>;
type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const M64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** Whether dropout `unit` is kept in the call (seed, counter) with drop probability p (op/dropout.rs). */
export function dropoutKeeps(seed: bigint, counter: bigint, unit: number, p: number): boolean {
  const key = mix64(seed ^ mix64((counter + GAMMA) & M64));
  const w = mix64((key + ((BigInt(unit) >> 1n) * GAMMA)) & M64);
  const bits = Number((w >> BigInt((unit & 1) * 32)) & 0xffffffffn);
  return bits < Math.round((1 - Math.fround(p)) * 2 ** 32);
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const ACT: Record<string, (x: number, a: Attrs) => number> = {
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leakyRelu: (x, a) => (x > 0 ? x : x * a.alpha),
  elu: (x, a) => (x > 0 ? x : a.alpha * Math.expm1(x)),
  gelu: (x, a) => (a.approximate === 'tanh' ? 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))) : 0.5 * x * erfc(-x / Math.SQRT2)),
  silu: (x) => x * sig(x),
  hardswish: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  hardsigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  sigmoid: sig,
  tanh: Math.tanh,
};

/** Forward of `model`'s graph on n samples in f64 with `params` (state_dict names; buffers too). */
export function graphForward(model: Model, params: Params, x: Float64Array, n: number, opts: { train: boolean; counter: number }): Float64Array {
  const g = model.graph;
  const vals: Float64Array[] = [x];
  const size = (v: number) => g.values[v].reduce((a, b) => a * b, 1);
  g.nodes.forEach((node, index) => {
    const a = node.attrs as Attrs;
    const p = (name: string) => params[`${node.path}.${name}`];
    const ins = node.inputs.map((v) => vals[v]);
    const [inp] = ins;
    const outN = size(node.output);
    const y = new Float64Array(n * outN);
    switch (node.type) {
      case 'conv2d': {
        const { c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow } = a.window;
        const [o, groups, W, B] = [a.filters, a.groups, p('weight'), p('bias')];
        const [cg, og] = [c / groups, o / groups];
        for (let s = 0; s < n; s++)
          for (let oc = 0; oc < o; oc++)
            for (let yy = 0; yy < oh; yy++)
              for (let xx = 0; xx < ow; xx++) {
                let acc = B ? B[oc] : 0;
                for (let ic = 0; ic < cg; ic++) {
                  const xc = Math.floor(oc / og) * cg + ic;
                  for (let i = 0; i < kh; i++)
                    for (let j = 0; j < kw; j++) {
                      const [iy, ix] = [yy * sh + i * dh - pt, xx * sw + j * dw - pl];
                      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                      acc += W[((oc * cg + ic) * kh + i) * kw + j] * inp[((s * c + xc) * h + iy) * w + ix];
                    }
                }
                y[((s * o + oc) * oh + yy) * ow + xx] = acc;
              }
        break;
      }
      case 'convTranspose2d': {
        const { c, h, w, filters: o, groups, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow } = a;
        const [W, B] = [p('weight'), p('bias')];
        const [cg, og] = [c / groups, o / groups];
        for (let s = 0; s < n; s++) {
          if (B) for (let oc = 0; oc < o; oc++) y.fill(B[oc], (s * o + oc) * oh * ow, (s * o + oc + 1) * oh * ow);
          for (let ic = 0; ic < c; ic++)
            for (let iy = 0; iy < h; iy++)
              for (let ix = 0; ix < w; ix++) {
                const v = inp[((s * c + ic) * h + iy) * w + ix];
                for (let k = 0; k < og; k++) {
                  const oc = Math.floor(ic / cg) * og + k;
                  for (let i = 0; i < kh; i++)
                    for (let j = 0; j < kw; j++) {
                      const [yy, xx] = [iy * sh + i * dh - ph, ix * sw + j * dw - pw];
                      if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
                      y[((s * o + oc) * oh + yy) * ow + xx] += v * W[((ic * og + k) * kh + i) * kw + j];
                    }
                }
              }
        }
        break;
      }
      case 'dense': {
        const [W, B] = [p('weight'), p('bias')];
        for (let s = 0; s < n; s++)
          for (let j = 0; j < a.units; j++) {
            let acc = B ? B[j] : 0;
            for (let i = 0; i < a.inputs; i++) acc += W[j * a.inputs + i] * inp[s * a.inputs + i];
            y[s * a.units + j] = acc;
          }
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const max = node.type === 'maxPool2d';
        const { c, h, w, kh, kw, sh, sw, oh, ow } = a;
        const [pt, pl] = max ? [a.pt, a.pl] : [a.ph, a.pw];
        const [dh, dw] = max ? [a.dh, a.dw] : [1, 1];
        for (let q = 0; q < n * c; q++)
          for (let yy = 0; yy < oh; yy++)
            for (let xx = 0; xx < ow; xx++) {
              let [m, sum, count] = [-Infinity, 0, 0];
              for (let i = 0; i < kh; i++)
                for (let j = 0; j < kw; j++) {
                  const [iy, ix] = [yy * sh + i * dh - pt, xx * sw + j * dw - pl];
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const v = inp[q * h * w + iy * w + ix];
                  m = Math.max(m, v);
                  sum += v;
                  count++;
                }
              // PyTorch's divisor: the window clipped to the padded input (count_include_pad), or its real elements.
              const clip = (o: number, s: number, k: number, pad: number, input: number) => Math.min(o * s - pad + k, input + pad) - (o * s - pad);
              const div = a.divisor || (a.countIncludePad ? clip(yy, sh, kh, pt, h) * clip(xx, sw, kw, pl, w) : count);
              y[q * oh * ow + yy * ow + xx] = max ? m : sum / div;
            }
        break;
      }
      case 'adaptiveAvgPool2d':
      case 'globalAvgPool2d': {
        const { c, h, w, oh, ow } = a;
        for (let q = 0; q < n * c; q++)
          for (let i = 0; i < oh; i++)
            for (let j = 0; j < ow; j++) {
              const [r0, r1, c0, c1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh), Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
              let sum = 0;
              for (let r = r0; r < r1; r++) for (let cc = c0; cc < c1; cc++) sum += inp[q * h * w + r * w + cc];
              y[q * oh * ow + i * ow + j] = sum / ((r1 - r0) * (c1 - c0));
            }
        break;
      }
      case 'batchNorm2d':
      case 'batchNorm1d': {
        const { channels: c, plane: l, eps } = a;
        const batchStats = opts.train || !a.trackRunningStats;
        for (let ch = 0; ch < c; ch++) {
          let [mean, v] = [0, 0];
          if (batchStats) {
            for (let s = 0; s < n; s++) for (let k = 0; k < l; k++) mean += inp[(s * c + ch) * l + k];
            mean /= n * l;
            for (let s = 0; s < n; s++) for (let k = 0; k < l; k++) v += (inp[(s * c + ch) * l + k] - mean) ** 2;
            v /= n * l;
          } else {
            [mean, v] = [p('running_mean')[ch], p('running_var')[ch]];
          }
          const [gm, bt] = [p('weight')?.[ch] ?? 1, p('bias')?.[ch] ?? 0];
          for (let s = 0; s < n; s++) for (let k = 0; k < l; k++) {
            const i = (s * c + ch) * l + k;
            y[i] = ((inp[i] - mean) / Math.sqrt(v + eps)) * gm + bt;
          }
        }
        break;
      }
      case 'layerNorm':
      case 'groupNorm': {
        // Rows of `size` values; γ/β per element of the row (layerNorm) or per channel (groupNorm).
        const { groups, size: d, plane, eps } = a;
        const [W, B] = [p('weight'), p('bias')];
        for (let r = 0; r < n * groups; r++) {
          let [mean, v] = [0, 0];
          for (let k = 0; k < d; k++) mean += inp[r * d + k];
          mean /= d;
          for (let k = 0; k < d; k++) v += (inp[r * d + k] - mean) ** 2;
          v /= d;
          for (let k = 0; k < d; k++) {
            const pi = node.type === 'layerNorm' ? k : (r % groups) * (d / plane) + Math.floor(k / plane);
            y[r * d + k] = ((inp[r * d + k] - mean) / Math.sqrt(v + eps)) * (W ? W[pi] : 1) + (B ? B[pi] : 0);
          }
        }
        break;
      }
      case 'dropout':
      case 'dropout2d': {
        if (!opts.train) {
          y.set(inp);
          break;
        }
        const seed = (BigInt(index) << 32n) | BigInt(model.seed);
        const scale = 1 / (1 - Math.fround(a.p));
        for (let i = 0; i < n * outN; i++) y[i] = dropoutKeeps(seed, BigInt(opts.counter), Math.floor(i / a.group), a.p) ? inp[i] * scale : 0;
        break;
      }
      case 'flatten':
        y.set(inp);
        break;
      case 'add':
        for (let i = 0; i < y.length; i++) y[i] = ins[0][i] + ins[1][i];
        break;
      case 'concat': {
        const { channels, plane } = a;
        const total = channels.reduce((s: number, c: number) => s + c, 0);
        for (let s = 0; s < n; s++) {
          let at = 0;
          channels.forEach((c: number, k: number) => {
            y.set(ins[k].subarray(s * c * plane, (s + 1) * c * plane), s * total * plane + at);
            at += c * plane;
          });
        }
        break;
      }
      case 'mul':
        for (let i = 0; i < y.length; i++) y[i] = ins[0][i] * ins[1][Math.floor(i / a.plane)];
        break;
      default: {
        const f = ACT[node.type];
        if (!f) throw new Error(`reference: no definition for ${node.type}`);
        for (let i = 0; i < y.length; i++) y[i] = f(inp[i], a);
      }
    }
    vals[node.output] = y;
  });
  return vals[g.output];
}

/** Mean softmax cross-entropy of n rows of logits against labels. */
export function crossEntropy(logits: Float64Array, labels: number[]): number {
  const n = labels.length;
  const k = logits.length / n;
  let loss = 0;
  for (let s = 0; s < n; s++) {
    const row = logits.subarray(s * k, (s + 1) * k);
    const m = Math.max(...row);
    loss += m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0)) - row[labels[s]];
  }
  return loss / n;
}
