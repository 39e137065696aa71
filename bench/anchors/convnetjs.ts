// ConvNetJS anchor: the same LeNet-style net, trained sample by sample the ConvNetJS way.
//
// IMPORTANT: the npm release convnetjs@0.3.0 has NO Adam. Its Trainer knows sgd / adagrad / windowgrad /
// adadelta only, and any other `method` (including 'adam') silently falls through to SGD with
// momentum 0.9. (The Adam in convnetjs's GitHub master is not standard Adam either: its bias correction
// multiplies instead of divides and counts samples, not steps.) So this anchor uses ConvNetJS for all
// the work that matters for speed (forward, backward, gradient accumulation over the batch) and applies
// a textbook Adam update (lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, bias-corrected) every `batchSize` samples,
// in exactly the place Trainer.train would apply its own update: on net.getParamsAndGrads(), gradients
// divided by batch_size, then zeroed. l2_decay is 0, so no decay terms.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// ---- minimal local typing of the part of ConvNetJS this file uses ----
interface CnjsVol {
  sx: number;
  sy: number;
  depth: number;
  w: Float64Array;
  dw: Float64Array;
}
interface CnjsParamsAndGrads {
  params: Float64Array;
  grads: Float64Array;
  l1_decay_mul?: number;
  l2_decay_mul?: number;
}
type CnjsLayerDef = { type: string } & Record<string, string | number>;
interface CnjsNet {
  makeLayers(defs: CnjsLayerDef[]): void;
  forward(v: CnjsVol, isTraining?: boolean): CnjsVol;
  /** Backprop from the softmax layer; returns -log p(y). Accumulates (+=) into parameter dw. */
  backward(y: number): number;
  getParamsAndGrads(): CnjsParamsAndGrads[];
  layers: { layer_type: string; out_sx: number; out_sy: number; out_depth: number }[];
}
interface ConvNetJS {
  Vol: new (sx: number, sy: number, depth: number, c?: number) => CnjsVol;
  Net: new () => CnjsNet;
}
const convnetjs = require('convnetjs') as ConvNetJS;

export interface AnchorData {
  /** N×1×28×28 (NCHW), values in [0, 1]. */
  images: Float32Array;
  labels: Uint8Array;
}

export interface AnchorResult<Impl extends string> {
  impl: Impl;
  samples: number;
  seconds: number;
  samplesPerSec: number;
}

const PIXELS = 28 * 28;

/** The architecture shared by every implementation. bias_pref 0 explicitly: ConvNetJS would otherwise
 *  start relu-conv biases at 0.1, while the other implementations start every bias at 0. */
export function convnetjsLenetDefs(): CnjsLayerDef[] {
  return [
    { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
    { type: 'conv', sx: 5, filters: 8, stride: 1, pad: 2, activation: 'relu', bias_pref: 0 },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 0, activation: 'relu', bias_pref: 0 },
    { type: 'pool', sx: 2, stride: 2 },
    // 'softmax' is desugared by ConvNetJS into fc(10) + softmax: the dense 10 + softmax cross-entropy.
    { type: 'softmax', num_classes: 10 },
  ];
}

/** Textbook Adam on top of a ConvNetJS net, mirroring Trainer.train's batching. */
export class ConvnetjsAdamTrainer {
  private k = 0; // samples seen
  private t = 0; // optimizer steps taken
  private m: Float64Array[] = [];
  private v: Float64Array[] = [];

  constructor(
    readonly net: CnjsNet,
    readonly batchSize = 64,
    readonly lr = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {}

  /** One sample: forward, backward (accumulating gradients), and an Adam step every batchSize samples.
   *  Returns the sample's cross-entropy loss. */
  train(x: CnjsVol, y: number): number {
    this.net.forward(x, true);
    const loss = this.net.backward(y);
    if (++this.k % this.batchSize === 0) this.step();
    return loss;
  }

  private step(): void {
    const pgs = this.net.getParamsAndGrads();
    if (this.m.length === 0) {
      for (const pg of pgs) {
        this.m.push(new Float64Array(pg.params.length));
        this.v.push(new Float64Array(pg.params.length));
      }
    }
    this.t++;
    const { beta1: b1, beta2: b2, eps, batchSize } = this;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    for (let i = 0; i < pgs.length; i++) {
      const p = pgs[i].params;
      const g = pgs[i].grads;
      const m = this.m[i];
      const v = this.v[i];
      for (let j = 0; j < p.length; j++) {
        const gij = g[j] / batchSize; // mean gradient over the batch
        m[j] = b1 * m[j] + (1 - b1) * gij;
        v[j] = b2 * v[j] + (1 - b2) * gij * gij;
        p[j] -= (this.lr * (m[j] / c1)) / (Math.sqrt(v[j] / c2) + eps);
        g[j] = 0;
      }
    }
  }
}

export function makeConvnetjsLenet(batchSize = 64): { net: CnjsNet; trainer: ConvnetjsAdamTrainer } {
  const net = new convnetjs.Net();
  net.makeLayers(convnetjsLenetDefs());
  return { net, trainer: new ConvnetjsAdamTrainer(net, batchSize) };
}

/** Converts NCHW 1×28×28 images into ConvNetJS Vols. ConvNetJS indexes w[(y*sx + x)*depth + d], which
 *  for depth 1 is the same row-major order as the input. */
export function toConvnetjsVols(images: Float32Array, count = images.length / PIXELS): CnjsVol[] {
  const vols: CnjsVol[] = [];
  for (let i = 0; i < count; i++) {
    const vol = new convnetjs.Vol(28, 28, 1, 0);
    vol.w.set(images.subarray(i * PIXELS, (i + 1) * PIXELS));
    vols.push(vol);
  }
  return vols;
}

export function convnetjsLenetTrain(
  data: AnchorData,
  opts: { batchSize: number; samples: number },
): AnchorResult<'convnetjs'> {
  const n = data.labels.length;
  if (n === 0) throw new RangeError('convnetjsLenetTrain: no data');
  const warmup = Math.min(64, n);
  // Convert only what will be used (samples wrap around the data set if samples > n).
  const vols = toConvnetjsVols(data.images, Math.min(n, Math.max(opts.samples, warmup)));
  const { trainer } = makeConvnetjsLenet(opts.batchSize);

  for (let i = 0; i < warmup; i++) trainer.train(vols[i % vols.length], data.labels[i % vols.length]);

  const t0 = performance.now();
  for (let i = 0; i < opts.samples; i++) {
    const k = i % vols.length;
    trainer.train(vols[k], data.labels[k]);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { impl: 'convnetjs', samples: opts.samples, seconds, samplesPerSec: opts.samples / seconds };
}
