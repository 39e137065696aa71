// End-to-end gradient check: the wasm backward pass of a whole model against central finite differences of
// an independent float64 reference forward pass (test/reference.ts) at the same (float32) weights.
import { describe, expect, it } from 'vitest';
import type { LayerSpec } from '../ts/src/index.js';
import { VARIANTS, engine, expectClose } from './helpers.js';
import { referenceLoss } from './reference.js';

const INPUT = [2, 9, 8];
const LAYERS: LayerSpec[] = [
  { type: 'conv2d', filters: 3, kernelSize: 3, padding: 1 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 4, kernelSize: [2, 3], stride: [1, 2], dilation: [1, 1] },
  { type: 'relu' },
  { type: 'flatten' },
  { type: 'dense', units: 5 },
];

// Each single-threaded build: plain SIMD, and relaxed SIMD (fused multiply-adds) where the runtime has it;
// the same tolerances hold for both.
for (const v of VARIANTS) {
  describe(`${v.label}: gradients through the wasm core match finite differences`, () => {
    it('a conv → relu → pool → conv → relu → flatten → dense model, every parameter', async () => {
      const e = await engine(v.opts);
      using model = e.sequential({ inputShape: INPUT, layers: LAYERS, init: 'pytorch', seed: 7 });
      const n = 3;
      const x = new Float32Array(n * 2 * 9 * 8).map((_, i) => Math.sin(i * 0.7) * 1.5);
      const labels = [1, 4, 0];
      const { loss, gradients } = model.lossAndGradients(x, labels);

      const weights = model.getWeights();
      const p64: Record<string, Float64Array> = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, Float64Array.from(v)]));
      const x64 = Float64Array.from(x);
      const ref = referenceLoss(INPUT, LAYERS, p64, x64, labels);
      // Forward agreement first: float32 wasm against the float64 reference.
      expectClose([loss], [ref.loss], 1e-5, 1, 'loss');
      expectClose(await model.predict(x, { logits: true }), ref.logits, 1e-5, 1, 'logits');

      // Central differences in float64 with h = 1e-6: truncation O(h²) and rounding O(1e-16/h) are both
      // below 1e-9, so the comparison measures the wasm float32 gradient: |err| ≤ 1e-5 · max(|g|, 1e-2).
      const h = 1e-6;
      let checked = 0;
      for (const [name, g] of Object.entries(gradients)) {
        const p = p64[name];
        const numeric = new Float64Array(p.length);
        for (let i = 0; i < p.length; i++) {
          const v = p[i];
          p[i] = v + h;
          const up = referenceLoss(INPUT, LAYERS, p64, x64, labels).loss;
          p[i] = v - h;
          const down = referenceLoss(INPUT, LAYERS, p64, x64, labels).loss;
          p[i] = v;
          numeric[i] = (up - down) / (2 * h);
        }
        const worst = expectClose(g, numeric, 1e-5, 1e-2, `d loss / d ${name}`);
        console.log(`${name}: ${p.length} values, max relative error ${worst.toExponential(2)}`);
        checked += p.length;
      }
      expect(checked).toBe(model.numParams);
    });
  });
}
