// The 'keras' preset against tfjs-core's own optimizers (float32 on its CPU backend, ε = the backend's 1e-7):
// the same 50 gradients through both, parameters compared after every step.
//
// Not cross-checked: centered RMSprop. tfjs-core computes √(v − (ḡ² + ε)), subtracting ε (likely a tfjs
// bug; TF's kernel and Keras compute √(v − ḡ² + ε)), and ours follows TF/Keras; our centered ε-inside
// form is checked against an f64 reference in optim_extra.json instead (rmsprop_keras_centered_momentum).
//
// Adam at a large rate: tfjs-core's bias correction is float32 (1 − β₂ᵗ from f32(0.999) multiplied up step
// by step in f32, which loses ~1e-5 of 1 − β₂ᵗ to cancellation in the first steps); ours is f64, as
// PyTorch's. At lr 0.02, where one step moves small parameters by a large fraction, that shows: tfjs is
// 2e-5 from an f64 evaluation of the same formula, ours 1e-6. So that case allows 3e-5 against tfjs and
// also checks ours against the f64 evaluation at the usual 1e-5.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OptimizerConfig } from '../ts/src/index.js';
import { engine, expectClose, noise } from './helpers.js';

const N = 37;
const STEPS = 50;
// Same tolerance as the golden trajectories: |ours − tfjs| ≤ 1e-5 · max(|tfjs|, |p₀|, 1e-2).
const RTOL = 1e-5;

const CASES: { name: string; ours: OptimizerConfig; tfjs: () => tf.Optimizer; rtol?: number; adamF64?: number }[] = [];
for (const lr of [undefined, 0.02]) {
  const rate = lr ?? 1e-3; // the preset's default, as tfjs's (Keras's) own
  const at = lr === undefined ? 'preset lr' : `lr ${lr}`;
  CASES.push(
    { name: `adagrad (${at})`, ours: { type: 'adagrad', preset: 'keras', lr }, tfjs: () => tf.train.adagrad(rate) },
    { name: `rmsprop (${at})`, ours: { type: 'rmsprop', preset: 'keras', lr }, tfjs: () => tf.train.rmsprop(rate) },
    {
      name: `rmsprop momentum 0.9 (${at})`,
      ours: { type: 'rmsprop', preset: 'keras', lr, momentum: 0.9 },
      tfjs: () => tf.train.rmsprop(rate, 0.9, 0.9),
    },
    {
      name: `adam (${at})`,
      ours: { type: 'adam', preset: 'keras', lr },
      tfjs: () => tf.train.adam(rate),
      ...(lr === undefined ? {} : { rtol: 3e-5, adamF64: rate }),
    },
  );
}

describe("the 'keras' preset matches tfjs-core's optimizers", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    expect(tf.backend().epsilon()).toBe(1e-7);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const e = await engine();
      const p0 = noise(N, 1);
      // `lr: undefined` means "not given": drop it so the preset's default applies.
      const cfg = Object.fromEntries(Object.entries(c.ours).filter(([, v]) => v !== undefined)) as unknown as OptimizerConfig;
      using opt = e.optimizer(cfg, N);
      using p = e.tensor(p0);
      using g = e.alloc(N);
      const v = tf.variable(tf.tensor1d(p0), true, `p_${c.name.replace(/\W/g, '_')}`);
      const ref = c.tfjs();
      const floor = Array.from(p0, (x) => Math.max(Math.abs(x), 1e-2));
      let worst = 0;
      let worstF64 = 0;
      // Adam (β 0.9, 0.999, ε 1e-7 outside) evaluated in f64, for the case that also checks against it.
      const x = Float64Array.from(p0);
      const [m, v2] = [new Float64Array(N), new Float64Array(N)];
      try {
        for (let s = 0; s < STEPS; s++) {
          const grad = noise(N, 100 + s).map((x, i) => x * (0.5 + (i % 5))); // different scales per element
          g.write(grad);
          opt.step(p, g);
          tf.tidy(() => ref.applyGradients({ [v.name]: tf.tensor1d(grad) }));
          worst = Math.max(worst, expectClose(p.read(), v.dataSync(), c.rtol ?? RTOL, floor, `${c.name} step ${s + 1}`));
          if (c.adamF64 !== undefined) {
            const t = s + 1;
            for (let i = 0; i < N; i++) {
              m[i] = 0.9 * m[i] + 0.1 * grad[i];
              v2[i] = 0.999 * v2[i] + 0.001 * grad[i] * grad[i];
              x[i] -= (c.adamF64 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v2[i] / (1 - 0.999 ** t)) + 1e-7);
            }
            worstF64 = Math.max(worstF64, expectClose(p.read(), x, RTOL, floor, `${c.name} step ${t} against f64`));
          }
        }
      } finally {
        v.dispose();
        ref.dispose();
      }
      const f64 = c.adamF64 === undefined ? '' : ` (against the f64 formula: ${worstF64.toExponential(2)})`;
      console.log(`keras preset vs tfjs-core ${c.name}: max relative error ${worst.toExponential(2)} over ${STEPS} steps${f64}`);
    });
  }
});
