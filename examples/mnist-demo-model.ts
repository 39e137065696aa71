// The LeNet-style CNN of the demo and the benchmark (the same architecture in every implementation).
import type { LayerSpec } from '../ts/src/index.js';

export const LENET: LayerSpec[] = [
  { type: 'conv2d', filters: 8, kernelSize: 5 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 16, kernelSize: 5 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 10 },
] satisfies LayerSpec[];
