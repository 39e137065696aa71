// "A model trained here loads into PyTorch with strict=True and predicts the same": the models, data and
// training shared by test/trained-to-torch.test.ts and its generator (test/golden/trained-export.ts, run by
// gen_trained_to_torch.py). Training is bitwise deterministic on one build (simd, 1 thread), so the test
// retrains, checks the saved file's SHA-256 against the one PyTorch loaded, and compares predictions.
import { init, models, type Engine, type Model, type ModelSpec } from '../ts/src/index.js';
import { unit } from './interop-weights.js';

export const CASES: { name: string; spec: ModelSpec; torch: string }[] = [
  { name: 'resnet8', spec: models.resnetCifar({ depth: 8, seed: 11 }), torch: 'ResNetCifar(8, num_classes=10)' },
  { name: 'mobilenet_v2_x0.5', spec: models.mobilenetV2({ numClasses: 10, widthMult: 0.5, imageSize: 32, seed: 12 }), torch: 'torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.5)' },
];

const N = 64;
const SAMPLE = 3 * 32 * 32;
/** Formula images with a class signal (a per-class offset on one channel), so training moves the weights. */
export function data(): { x: Float32Array; y: number[]; probe: Float32Array } {
  const y = Array.from({ length: N }, (_, i) => i % 10);
  const x = unit('train', N * SAMPLE);
  for (let i = 0; i < N; i++) for (let j = 0; j < 1024; j++) x[i * SAMPLE + j] += y[i] / 5;
  // Held-out images of classes 0..7 with the same signal.
  const probe = unit('probe', 8 * SAMPLE);
  for (let i = 0; i < 8; i++) for (let j = 0; j < 1024; j++) probe[i * SAMPLE + j] += i / 5;
  return { x, y, probe };
}

export const engine = (): Promise<Engine> => init({ threads: 1, relaxedSimd: false });

/** Twenty epochs of Adam with BatchNorm in train mode (running statistics move), dropout on. */
export async function train(e: Engine, spec: ModelSpec): Promise<Model> {
  const { x, y } = data();
  const m = e.model(spec);
  await m.fit(x, y, { epochs: 20, batchSize: 16, seed: 1, optimizer: { type: 'adam', lr: 3e-3 } });
  return m;
}
