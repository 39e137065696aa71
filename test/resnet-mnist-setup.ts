// The ResNet-on-MNIST comparison's one definition (test/resnet-mnist.test.ts trains it here,
// test/golden/gen_resnet_mnist.py in PyTorch): He et al.'s CIFAR ResNet with two BasicBlocks per stage
// (ResNet-14: three residual stages of 16, 32, 64 channels with BatchNorm) on 1×28×28 digits, AdamW with a
// cosine schedule and label smoothing 0.1 (8,000 training digits overfit without the last two: ResNet-8 with
// plain Adam reached 98.1% in PyTorch).
import { models, type FitOptions, type ModelSpec } from '../ts/src/index.js';

export const DEPTH = 14;
export const SPEC: ModelSpec = models.resnetCifar({ depth: DEPTH, inChannels: 1, imageSize: 28, numClasses: 10, seed: 5 });
export const EPOCHS = 10;
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
