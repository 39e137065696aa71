// Weights that travel from PyTorch: torchvision's resnet18 and mobilenet_v2, and He et al.'s ResNet-20, with
// formula weights saved by PyTorch as safetensors (the committed header plus the formula's data rebuild the
// very file PyTorch wrote: its SHA-256 is checked), load here with strict=True and give PyTorch's eval-mode
// logits, train-mode loss and gradients, and weights and BatchNorm running statistics after one Adam step,
// within 1e-4 relative (test/golden/gen_interop.py).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { models, type ModelSpec } from '../ts/src/index.js';
import { golden } from './helpers.js';
import { formulaValue, projection, unit } from './interop-weights.js';

interface Golden {
  model: string; inputShape: number[]; classes: number; header: string; sha256: string; bytes: number;
  evalLogits: number[]; trainLoss: number; grads: Record<string, [number, number]>; after: Record<string, [number, number]>;
  afterFull: Record<string, number[]>; numBatchesTracked: number;
}

/** The file PyTorch saved: its header as written, then every tensor's formula data in offset order. */
function rebuild(g: Golden): Uint8Array {
  const header = JSON.parse(g.header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const isBn = (p: string) => `${p}.running_mean` in header;
  const weightShape = (p: string) => header[`${p}.weight`].shape;
  const head = new TextEncoder().encode(g.header);
  const out = new Uint8Array(g.bytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  const data = 8 + head.length;
  for (const name of names) {
    const t = header[name];
    const at = data + t.data_offsets[0];
    if (t.dtype === 'I64') continue; // num_batches_tracked: 0
    const v = formulaValue(name, t.shape, isBn, weightShape);
    out.set(new Uint8Array(v.buffer), at);
  }
  return out;
}

const relClose = (got: number, want: number, scale: number) => Math.abs(got - want) <= 1e-4 * Math.max(Math.abs(want), scale);

const cases: [string, ModelSpec][] = [
  ['resnet18', models.resnet18({ numClasses: 10, imageSize: 64 })],
  ['mobilenet_v2', models.mobilenetV2({ numClasses: 10, imageSize: 64, dropout: 0 })],
  ['resnet20', models.resnetCifar({ depth: 20 })],
];

describe('PyTorch → wasmcnn: torchvision models saved by PyTorch', () => {
  for (const [name, spec] of cases) {
    it(`${name}: the file loads strictly; logits, loss, gradients and one Adam step match PyTorch`, async () => {
      const { engine } = await import('./helpers.js');
      const e = await engine();
      const g = golden<Golden>(`interop/${name}.json`);
      const bytes = rebuild(g);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(g.sha256);
      using m = e.model(spec);
      const report = m.loadWeightsSync(bytes);
      expect(report.missing).toEqual([]);
      expect(report.unexpected).toEqual([]);
      const n = g.inputShape[0];
      const x = unit('input', g.inputShape.reduce((a, b) => a * b, 1));
      const y = Array.from({ length: n }, (_, i) => i % g.classes);
      // Eval mode: running statistics.
      const logits = await m.predict(x, { logits: true, batchSize: n });
      const scale = Math.max(...g.evalLogits.map(Math.abs));
      let worst = 0;
      logits.forEach((v, i) => {
        expect(relClose(v, g.evalLogits[i], scale), `logit ${i}: ${v} vs ${g.evalLogits[i]}`).toBe(true);
        worst = Math.max(worst, Math.abs(v - g.evalLogits[i]) / scale);
      });
      // Train mode: batch statistics; the loss and every parameter's gradient (as projections).
      m.train();
      const { loss, gradients } = m.lossAndGradients(x, y);
      expect(relClose(loss, g.trainLoss, 0)).toBe(true);
      let gworst = 0;
      for (const [k, [dot, norm]] of Object.entries(g.grads)) {
        const [d2, n2] = projection(k, gradients[k]);
        expect(relClose(n2, norm, 0), `‖∇${k}‖ ${n2} vs ${norm}`).toBe(true);
        expect(relClose(d2, dot, norm), `∇${k}·r ${d2} vs ${dot}`).toBe(true);
        gworst = Math.max(gworst, Math.abs(n2 - norm) / norm);
      }
      // One Adam step from the file's weights (lossAndGradients moved the running statistics: reload).
      m.loadWeightsSync(bytes);
      await m.fit(x, y, { epochs: 1, batchSize: n, shuffle: false, optimizer: { type: 'adam', lr: 1e-3 }, divergence: false });
      const w = m.getWeights();
      let aworst = 0;
      for (const [k, [dot, norm]] of Object.entries(g.after)) {
        const [d2, n2] = projection(k, w[k]);
        expect(relClose(n2, norm, 0), `‖${k}‖ after ${n2} vs ${norm}`).toBe(true);
        expect(relClose(d2, dot, norm), `${k}·r after ${d2} vs ${dot}`).toBe(true);
        aworst = Math.max(aworst, Math.abs(n2 - norm) / norm);
      }
      for (const [k, v] of Object.entries(g.afterFull)) w[k].forEach((x2, i) => expect(relClose(x2, v[i], Math.max(...v.map(Math.abs)))).toBe(true));
      const nbt = Object.entries(w).find(([k]) => k.endsWith('num_batches_tracked'))![1][0];
      expect(nbt).toBe(g.numBatchesTracked);
      console.log(`${name}: logits ${worst.toExponential(2)}, loss ${(Math.abs(loss - g.trainLoss) / g.trainLoss).toExponential(2)}, gradient norms ${gworst.toExponential(2)}, weights after Adam ${aworst.toExponential(2)} (max relative)`);
    }, 120_000);
  }
});
