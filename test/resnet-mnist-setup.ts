// The ResNet-on-MNIST comparison's one definition (test/resnet-mnist.test.ts trains it here,
// test/golden/gen_resnet_mnist.py in PyTorch): He et al.'s CIFAR ResNet with two BasicBlocks per stage
// (ResNet-14: three residual stages of 16, 32, 64 channels with BatchNorm) on 1×28×28 digits, AdamW with a
// cosine schedule and label smoothing 0.1 (8,000 training digits overfit without the last two: ResNet-8 with
// plain Adam reached 98.1% in PyTorch).
import { loadMnist, MNIST_PIXELS } from '../examples/mnist-data.js';
import { normalize } from '../examples/mnist-demo-model.js';
import { models, type FitOptions, type ModelSpec } from '../ts/src/index.js';
import { Rng } from '../ts/src/nn/rng.js';

export const DEPTH = 14;
export const SPEC: ModelSpec = models.resnetCifar({ depth: DEPTH, inChannels: 1, imageSize: 28, numClasses: 10, seed: 5 });
export const EPOCHS = 6;
export const FIT = {
  epochs: EPOCHS,
  batchSize: 64,
  seed: 3,
  optimizer: { type: 'adamw', lr: 2e-3, weightDecay: 0.05 },
  schedule: { type: 'cosine', tMax: EPOCHS },
  loss: { type: 'crossEntropy', labelSmoothing: 0.1 },
} satisfies FitOptions;
/** The split: the demo's (examples/mnist-data.ts, seed 1), pixels normalised. */
export const SPLIT = { seed: 1, train: 8000, test: 2000 };
/** Largest shift of the augmented copies, in pixels along each axis. */
export const SHIFT = 2;

/**
 * What both sides train and test on: the split's training digits followed by one copy of each moved by
 * (dx, dy) ∈ [−SHIFT, SHIFT]² (seeded, background shifted in), then everything normalised. Without the
 * copies the recipe's test accuracy was 98.6–98.8% in five float32 PyTorch runs whose initial weights
 * differed by one ulp (98.4–98.7% in ours): the ≥ 98.5% bar sat inside float32's own spread.
 */
export function mnistSet() {
  const d = loadMnist(SPLIT.seed, SPLIT.train, SPLIT.test);
  const n = SPLIT.train;
  const images = new Float32Array(2 * n * MNIST_PIXELS);
  images.set(d.trainImages);
  const rng = new Rng(SPLIT.seed + 1);
  for (let k = 0; k < n; k++) {
    const [dx, dy] = [rng.below(2 * SHIFT + 1) - SHIFT, rng.below(2 * SHIFT + 1) - SHIFT];
    const src = d.trainImages.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS);
    const dst = images.subarray((n + k) * MNIST_PIXELS, (n + k + 1) * MNIST_PIXELS);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const [sy, sx] = [y - dy, x - dx];
        dst[y * 28 + x] = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? src[sy * 28 + sx] : 0;
      }
    }
  }
  const labels = new Uint8Array(2 * n);
  labels.set(d.trainLabels);
  labels.set(d.trainLabels, n);
  return { trainImages: normalize(images), trainLabels: labels, testImages: normalize(d.testImages), testLabels: d.testLabels };
}
