// The loss vocabulary through Model.lossAndGradients / evaluate (ts/src/train/loss.ts on the loss
// operators) against the torch goldens of norm_act_loss.json: a dense layer set to the identity makes the
// model's output the golden's logits exactly, so the loss is torch's (relative 1e-12) and the bias gradient
// is the column sums of torch's d loss / d logits (norm_act_loss's metric, 1e-5).
import { describe, expect, it } from 'vitest';
import type { Engine, LossSpec } from '../ts/src/index.js';
import { engine, expectClose, golden } from './helpers.js';
import { xorshiftData } from './reference13.js';

const L = golden<any>('norm_act_loss.json').losses; // eslint-disable-line @typescript-eslint/no-explicit-any

function input(v: { seed: number; scale: number; offset: number } | number[], n: number): Float32Array {
  if (Array.isArray(v)) return Float32Array.from(v);
  return xorshiftData(n, v.seed).map((x) => Math.fround(Math.fround(x * Math.fround(v.scale)) + Math.fround(v.offset)));
}

function identityModel(e: Engine, width: number) {
  const m = e.model({ inputShape: [width], layers: [{ type: 'dense', units: width }] });
  m.setWeights({ '0.weight': Float32Array.from({ length: width * width }, (_, i) => (i % (width + 1) === 0 ? 1 : 0)), '0.bias': new Float32Array(width) });
  return m;
}

const columnSums = (d: number[], rows: number, cols: number) => Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => d[i * cols + j]).reduce((a, b) => a + b, 0));
const maxAbs = (a: number[]) => Math.max(...a.map(Math.abs));

describe('the loss vocabulary through the model matches PyTorch', () => {
  it('cross-entropy: labels (i32, ignoreIndex −100) or probabilities, class weights, label smoothing, mean / sum', async () => {
    const e = await engine({ threads: 1 });
    const ce = L.crossEntropy;
    using m = identityModel(e, ce.c);
    const z = input(ce.logits, ce.n * ce.c);
    const weight = Array.from(input(ce.weight, ce.c));
    for (const k of ce.cases) {
      const spec: LossSpec = { type: 'crossEntropy', reduction: k.reduction, labelSmoothing: k.labelSmoothing, ignoreIndex: -100, ...(k.weighted ? { weight } : {}) };
      const y = k.target === 'labels' ? ce.labels : Float32Array.from(ce.probabilities);
      const { loss, gradients } = m.lossAndGradients(z, y, { loss: spec });
      expectClose([loss], [k.loss], 1e-12, 1e-300, `${JSON.stringify(k)} loss`);
      const want = columnSums(k.dlogits, ce.n, ce.c);
      expectClose(gradients['0.bias'], want, 1e-5, 1e-2 * maxAbs(want), `${JSON.stringify(k)} d bias`);
    }
    // evaluate: the loss as torch's, the accuracy over the counted labels only.
    const r = await m.evaluate(z, ce.labels, { loss: { type: 'crossEntropy', ignoreIndex: -100 }, topK: [2] });
    const plain = ce.cases.find((k: any) => k.target === 'labels' && !k.weighted && k.labelSmoothing === 0 && k.reduction === 'mean'); // eslint-disable-line @typescript-eslint/no-explicit-any
    // One batch: evaluate's loss is torch's mean over the counted rows.
    expectClose([r.loss], [plain.loss], 1e-12, 1e-300, 'evaluate loss');
    const counted = ce.labels.map((l: number, i: number) => [l, i]).filter(([l]: number[]) => l !== -100);
    const argmax = (i: number) => Array.from(z.subarray(i * ce.c, (i + 1) * ce.c)).reduce((b, v, j, row) => (v > row[b] ? j : b), 0);
    expect(r.accuracy).toBe(counted.filter(([l, i]: number[]) => argmax(i) === l).length / counted.length);
  });

  it('binary cross-entropy with logits: weight and posWeight, mean / sum', async () => {
    const e = await engine({ threads: 1 });
    const b = L.bce;
    using m = identityModel(e, b.cols);
    const x = input(b.x, b.rows * b.cols);
    for (const k of b.cases) {
      const spec: LossSpec = { type: 'binaryCrossEntropy', reduction: k.reduction, ...(k.weighted ? { weight: Array.from(input(b.weight, b.cols)), posWeight: Array.from(input(b.posWeight, b.cols)) } : {}) };
      const { loss, gradients } = m.lossAndGradients(x, Float32Array.from(b.target), { loss: spec });
      expectClose([loss], [k.loss], 1e-12, 1e-300, `bce ${JSON.stringify(k)} loss`);
      const want = columnSums(k.dx, b.rows, b.cols);
      expectClose(gradients['0.bias'], want, 1e-5, 1e-2 * maxAbs(want), `bce ${JSON.stringify(k)} d bias`);
    }
  });

  it('regression: mse, l1, huber (δ), smoothL1 (β, incl. 0), mean / sum', async () => {
    const e = await engine({ threads: 1 });
    const r = L.regression;
    const n = r.x.length;
    using m = identityModel(e, n);
    for (const k of r.cases) {
      const type = k.kind === 'smooth_l1' ? 'smoothL1' : k.kind;
      const spec = { type, reduction: k.reduction, ...(k.delta !== undefined ? { delta: k.delta } : {}), ...(k.beta !== undefined ? { beta: k.beta } : {}) } as LossSpec;
      const { loss, gradients } = m.lossAndGradients(Float32Array.from(r.x), Float32Array.from(r.target), { loss: spec });
      expectClose([loss], [k.loss], 1e-12, 1e-300, `${type} ${k.reduction} loss`);
      expectClose(gradients['0.bias'], k.dx, 1e-5, 1e-2 * maxAbs(k.dx), `${type} ${k.reduction} d bias`);
    }
  });
});
