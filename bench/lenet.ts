// LeNet-MNIST training throughput of wasmcnn (batch 64, Adam), measured like the anchors: data prepared
// before timing, a warm-up, then a timed run over real digits.
import type { Engine } from '../ts/src/index.js';
import { LENET } from '../examples/mnist-demo-model.js';
import type { AnchorData, AnchorResult } from './anchors/convnetjs.js';

export async function wasmcnnLenetTrain(
  engine: Engine,
  data: AnchorData,
  opts: { batchSize: number; samples: number },
): Promise<AnchorResult<'wasmcnn'>> {
  using model = engine.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
  using opt = engine.optimizer({ type: 'adam', lr: 1e-3 }, model);
  const n = Math.min(opts.samples, data.labels.length);
  const x = data.images.subarray(0, n * 784);
  const y = data.labels.subarray(0, n);
  // Warm-up: lets the engine tier the hot wasm functions up to optimized code before timing.
  await model.fit(x, y, { batchSize: opts.batchSize, optimizer: opt, shuffle: false });
  let done = 0;
  const t0 = performance.now();
  while (done < opts.samples) {
    await model.fit(x, y, { batchSize: opts.batchSize, optimizer: opt, shuffle: true, seed: done });
    done += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { impl: 'wasmcnn', samples: done, seconds, samplesPerSec: done / seconds };
}
