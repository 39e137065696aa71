// The cost of model.lrFind (issue 14): 100 steps of batch 64 on the bench's LeNet, against 100 plain fit
// steps on the same engine right before it; the difference is the range test's own work (saving and
// restoring the weights, the smoothing, the suggestions).
import type { Engine } from '../ts/src/index.js';
import { LENET } from '../examples/mnist-demo-model.js';
import type { AnchorData } from './anchors/convnetjs.js';

const STEPS = 100;
const BATCH = 64;

/** ms per step of lrFind and of fit. */
export async function lrFindCost(engine: Engine, data: AnchorData): Promise<{ lrFindMs: number; fitMs: number }> {
  using model = engine.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
  const n = STEPS * BATCH;
  const [x, y] = [data.images.subarray(0, n * 784), data.labels.subarray(0, n)];
  const opts = { batchSize: BATCH, optimizer: { type: 'adam', lr: 1e-3 } } as const;
  await model.fit(x.subarray(0, 2 * BATCH * 784), y.subarray(0, 2 * BATCH), opts);
  let t0 = performance.now();
  await model.fit(x, y, { ...opts, shuffle: true });
  const fitMs = (performance.now() - t0) / STEPS;
  // A gentle ramp and no divergence stop, so every one of the steps is taken.
  t0 = performance.now();
  const r = await model.lrFind(x, y, { steps: STEPS, batchSize: BATCH, start: 1e-7, end: 1e-2, divergence: 1e9 });
  const lrFindMs = (performance.now() - t0) / r.lrs.length;
  return { lrFindMs, fitMs };
}
