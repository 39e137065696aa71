// The ResNet-on-MNIST comparison's one definition (test/resnet-mnist.test.ts trains it here,
// test/golden/gen_resnet_mnist.py in PyTorch): He et al.'s CIFAR ResNet with one BasicBlock per stage (ResNet-8:
// three residual stages of 16, 32, 64 channels with BatchNorm) on 1×28×28 digits, Adam with a cosine schedule.
import { models, type FitOptions, type ModelSpec } from '../ts/src/index.js';

export const SPEC: ModelSpec = models.resnetCifar({ depth: 8, inChannels: 1, imageSize: 28, numClasses: 10, seed: 5 });
export const EPOCHS = 4;
export const FIT = { epochs: EPOCHS, batchSize: 64, seed: 3, optimizer: { type: 'adam', lr: 2e-3 }, schedule: { type: 'cosine', tMax: EPOCHS } } satisfies FitOptions;
/** The split: the demo's (examples/mnist-data.ts, seed 1), pixels normalised. */
export const SPLIT = { seed: 1, train: 8000, test: 2000 };
