// fit's gradient clipping (ts/src/train/grad-tools.ts over the wasm reductions) against torch's
// clip_grad_norm_ / clip_grad_value_ (test/golden/clip.json): several tensors clipped together, as one
// flat gradient buffer. Tolerance 1e-5 relative (floor 1e-6): torch forms its coefficient in float32.
import { describe, expect, it } from 'vitest';
import { clipGradients } from '../ts/src/train/grad-tools.js';
import { engine, expectClose, f32, golden } from './helpers.js';

interface NormCase { name: string; maxNorm: number; grads: number[][]; totalNorm: number; clipped: number[][] }
interface ValueCase { name: string; clipValue: number; grads: number[][]; clipped: number[][] }
const { clipGradNorm, clipGradValue } = golden<{ clipGradNorm: NormCase[]; clipGradValue: ValueCase[] }>('clip.json');

describe('gradient clipping matches torch.nn.utils', () => {
  for (const c of [...clipGradNorm, ...clipGradValue]) {
    it(c.name, async () => {
      const e = await engine();
      using g = e.tensor(f32(c.grads.flat()), 'grads');
      const norm = clipGradients(e, g, { clipNorm: 'maxNorm' in c ? c.maxNorm : null, clipValue: 'clipValue' in c ? c.clipValue : null });
      if ('totalNorm' in c) expect(Math.abs(norm - c.totalNorm)).toBeLessThanOrEqual(1e-5 * c.totalNorm);
      const worst = expectClose(g.read(), f32(c.clipped.flat()), 1e-5, 1e-6, c.name);
      console.log(`${c.name}: max relative error ${worst.toExponential(2)}`);
    });
  }
});
