// A model trained here loads into PyTorch with strict=True and predicts the same (a ResNet and a MobileNetV2
// with BatchNorm running statistics and dropout trained here). PyTorch's side ran once
// (test/golden/gen_trained_to_torch.py: trained_to_torch.json); training is bitwise deterministic on one
// build, so this retrains, checks the saved file is byte for byte the one PyTorch loaded, and compares
// eval-mode logits (1e-5 of their scale) and predicted classes.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { golden } from './helpers.js';
import { CASES, data, engine, train } from './trained-to-torch-setup.js';

const torch = golden<{ cases: Record<string, { sha256: string; logits: number[]; predictions: number[] }> }>('trained_to_torch.json');

describe('trained here → PyTorch load_state_dict(strict=True) → the same predictions', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const e = await engine();
      using m = await train(e, c.spec);
      const want = torch.cases[c.name];
      expect(createHash('sha256').update(m.saveWeights()).digest('hex')).toBe(want.sha256);
      const logits = await m.predict(data().probe, { logits: true });
      const scale = Math.max(...want.logits.map(Math.abs));
      const worst = Math.max(...Array.from(logits, (v, i) => Math.abs(v - want.logits[i]) / scale));
      console.log(`${c.name}: logits vs PyTorch (float64) ${worst.toExponential(2)} of their scale; classes ${want.predictions.join(',')}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      const classes = Array.from({ length: 8 }, (_, i) => { const r = logits.subarray(i * 10, i * 10 + 10); return r.indexOf(Math.max(...r)); });
      expect(classes).toEqual(want.predictions);
      await e.terminate();
    }, 300_000);
  }
});
