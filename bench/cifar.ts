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

/**
 * Multiply-add FLOPs of one training sample of CIFAR_SMALL: the forward pass, then the weight gradient of every
 * layer and the input gradient of every layer but the first (each the size of that layer's forward GEMM).
 * Convolutions: 2·O·H·W·C·9 ('same' 3×3); dense: 2·in·out.
 */
export const CIFAR_TRAIN_FLOPS = (() => {
  const conv = (c: number, o: number, hw: number) => 2 * o * hw * hw * c * 9;
  const layers = [conv(3, 32, 32), conv(32, 32, 32), conv(32, 64, 16), conv(64, 64, 16), 2 * 64 * 8 * 8 * 128, 2 * 128 * 10];
  const fwd = layers.reduce((a, b) => a + b, 0);
  return fwd + fwd + (fwd - layers[0]);
})();
