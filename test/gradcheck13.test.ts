// Model-level gradient checks for issue 13's layers: the wasm backward pass of graph models (through the
// plan: fusions, aliases, multi-reader gradients) against central finite differences of an independent
// float64 forward pass (test/reference-graph.ts) at the same float32 weights, in training mode (BatchNorm
// on batch statistics, dropout with its mask reproduced from the kernel's hash).
import { describe, expect, it } from 'vitest';
import type { LayerSpec, Model } from '../ts/src/index.js';
import { VARIANTS, engine, expectClose } from './helpers.js';
import { crossEntropy, graphForward } from './reference-graph.js';

interface Case {
  name: string;
  inputShape: number[];
  layers: LayerSpec[];
  classes: number;
}

const CASES: Case[] = [
  {
    name: 'BatchNorm (train) + a residual block with a projection shortcut + add → ReLU',
    inputShape: [3, 6, 6],
    classes: 5,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 1, useBias: false },
      { type: 'batchNorm2d' },
      { type: 'relu' },
      {
        type: 'residual',
        main: [
          { type: 'conv2d', filters: 6, kernelSize: 3, stride: 2, padding: 1, useBias: false },
          { type: 'batchNorm2d', momentum: null },
          { type: 'relu' },
          { type: 'conv2d', filters: 6, kernelSize: 3, padding: 1, useBias: false },
          { type: 'batchNorm2d' },
        ],
        shortcut: [{ type: 'conv2d', filters: 6, kernelSize: 1, stride: 2, useBias: false }, { type: 'batchNorm2d' }],
        activation: 'relu',
      },
      { type: 'residual', main: [{ type: 'conv2d', filters: 6, kernelSize: 3, padding: 1 }, { type: 'batchNorm2d', affine: false }] },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 8 },
      { type: 'batchNorm1d' },
      { type: 'relu' },
      { type: 'dense', units: 5 },
    ] as LayerSpec[],
  },
  {
    name: 'concat, SE gate, depthwise + grouped conv, convTranspose, avg/adaptive pools, groupNorm, layerNorm, dropout',
    inputShape: [2, 6, 6],
    classes: 3,
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, padding: 1 },
      { type: 'gelu' },
      {
        type: 'concat',
        branches: [
          [{ type: 'conv2d', filters: 2, kernelSize: 1 }, { type: 'silu' }],
          [{ type: 'conv2d', filters: 4, kernelSize: 3, padding: 1, groups: 4 }, { type: 'hardswish' }],
          [{ type: 'conv2d', filters: 8, kernelSize: 3, padding: 1, groups: 4, useBias: false }, { type: 'relu6' }],
          [{ type: 'avgPool2d', poolSize: 3, stride: 1, padding: 1, countIncludePad: false }],
        ],
      },
      { type: 'gate', layers: [{ type: 'globalAvgPool2d' }, { type: 'flatten' }, { type: 'dense', units: 4 }, { type: 'tanh' }, { type: 'dense', units: 18 }, { type: 'hardsigmoid' }] },
      { type: 'groupNorm', numGroups: 3 },
      { type: 'conv2d', filters: 4, kernelSize: 3, groups: 2 },
      { type: 'elu', alpha: 0.7 },
      { type: 'dropout2d', p: 0.25 },
      { type: 'convTranspose2d', filters: 3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 },
      { type: 'leakyRelu', negativeSlope: 0.1 },
      { type: 'avgPool2d', poolSize: 3, stride: 2, padding: 1, ceilMode: true },
      { type: 'adaptiveAvgPool2d', outputSize: [2, 3] },
      { type: 'flatten' },
      { type: 'layerNorm' },
      { type: 'dropout', p: 0.3 },
      { type: 'dense', units: 3 },
    ] as LayerSpec[],
  },
  // Each activation alone between two dense layers (a chain of them would shrink the first layers'
  // gradients below what the comparison's floor can see).
  ...[
    ['relu6'], ['leakyRelu', { negativeSlope: 0.2 }], ['elu', { alpha: 0.5 }], ['gelu'], ['gelu', { approximate: 'tanh' }], ['silu'],
    ['hardswish'], ['hardsigmoid'], ['sigmoid'], ['tanh'],
  ].map(([type, opts]) => ({
    name: `${type} ${opts ? JSON.stringify(opts) : ''}`,
    inputShape: [6],
    classes: 4,
    layers: [{ type: 'dense', units: 8 }, { type, ...(opts as object) }, { type: 'dense', units: 4 }] as LayerSpec[],
  })),
];

/** The model's loss as a function of its weights, in f64 (training semantics at dropout counter `counter`). */
function referenceLoss(model: Model, p: Record<string, Float64Array>, x: Float64Array, labels: number[], counter: number): { loss: number; logits: Float64Array } {
  const logits = graphForward(model, p, x, labels.length, { train: true, counter });
  return { loss: crossEntropy(logits, labels), logits };
}

for (const v of VARIANTS) {
  describe(`${v.label}: issue-13 models' gradients match finite differences of a float64 reference`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const e = await engine(v.opts);
        using model = e.model({ inputShape: c.inputShape, layers: c.layers, init: 'pytorch', seed: 11 });
        const n = 4;
        const per = c.inputShape.reduce((a, b) => a * b, 1);
        const x = new Float32Array(n * per).map((_, i) => Math.sin(i * 0.37 + 0.2) * 1.3);
        const labels = Array.from({ length: n }, (_, i) => (i * 2 + 1) % c.classes);
        // Buffers as they are before the step (the forward moves BatchNorm's running statistics).
        const weights = model.getWeights();
        const counter = model._dropoutCounter;
        const { loss, gradients } = model.lossAndGradients(x, labels);
        const p64: Record<string, Float64Array> = Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, Float64Array.from(w)]));
        const x64 = Float64Array.from(x);
        const ref = referenceLoss(model, p64, x64, labels, counter);
        expectClose([loss], [ref.loss], 1e-5, 1, 'loss');

        // Central differences in f64 with h = 1e-6 (truncation and rounding both below 1e-9 here), compared
        // with conv_pool's metric: |wasm − fd| ≤ 1e-5 · max(‖fd‖∞, 1e-2) per tensor. (Per element relative to
        // max(|fd_i|, 1e-2), as test/gradcheck.test.ts, the smallest values of the conv weights under
        // BatchNorm miss 1e-5 by up to 4×: they come out of cancellation in BN's backward, and the simd and
        // relaxed-simd builds differ from each other there by as much as from the reference.)
        const h = 1e-6;
        let checked = 0;
        const report: string[] = [];
        for (const [name, g] of Object.entries(gradients)) {
          const p = p64[name];
          const numeric = new Float64Array(p.length);
          for (let i = 0; i < p.length; i++) {
            const w0 = p[i];
            p[i] = w0 + h;
            const up = referenceLoss(model, p64, x64, labels, counter).loss;
            p[i] = w0 - h;
            const down = referenceLoss(model, p64, x64, labels, counter).loss;
            p[i] = w0;
            numeric[i] = (up - down) / (2 * h);
          }
          const scale = Math.max(1e-2, ...Array.from(numeric, Math.abs));
          const worst = expectClose(g, numeric, 1e-5, scale, `d loss / d ${name}`);
          report.push(`${name} ${worst.toExponential(1)}`);
          checked += p.length;
        }
        console.log(`${v.label} ${c.name}: ${checked} gradients; worst relative error per tensor: ${report.join(', ')}`);
        expect(checked).toBe(model.numParams);
      }, 120_000);
    }
  });
}
