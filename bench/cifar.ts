// CIFAR-sized training throughput: 32×32×3 input, conv3×3×32 ×2 → max-pool → conv3×3×64 ×2 → max-pool →
// dense 128 → dense 10 (ReLU after each conv and the hidden dense), batch 64, Adam. Synthetic data: the
// speed of a step does not depend on pixel values, and no CIFAR copy ships in the npm registry's packages.
import type { Engine, LayerSpec } from '../ts/src/index.js';

export const CIFAR_SMALL: LayerSpec[] = [
  { type: 'conv2d', filters: 32, kernelSize: 3, padding: 'same' },
  { type: 'relu' },
  { type: 'conv2d', filters: 32, kernelSize: 3, padding: 'same' },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 64, kernelSize: 3, padding: 'same' },
  { type: 'relu' },
  { type: 'conv2d', filters: 64, kernelSize: 3, padding: 'same' },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 128 },
  { type: 'relu' },
  { type: 'dense', units: 10 },
];

export async function wasmcnnCifarTrain(engine: Engine, opts: { batchSize: number; samples: number }) {
  using model = engine.sequential({ inputShape: [3, 32, 32], layers: CIFAR_SMALL, seed: 1 });
  using opt = engine.optimizer({ type: 'adam', lr: 1e-3 }, model);
  const n = opts.samples;
  const x = new Float32Array(n * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
  const y = Array.from({ length: n }, (_, i) => (i * 7) % 10);
  // Warm-up on two batches (tier-up of the hot wasm functions, buffer allocation).
  await model.fit(x.subarray(0, 2 * opts.batchSize * 3072), y.slice(0, 2 * opts.batchSize), { batchSize: opts.batchSize, optimizer: opt });
  const t0 = performance.now();
  await model.fit(x, y, { batchSize: opts.batchSize, optimizer: opt, shuffle: false });
  const seconds = (performance.now() - t0) / 1000;
  return { impl: 'wasmcnn' as const, samples: n, seconds, samplesPerSec: n / seconds };
}
