// The demo's LeNet-style CNN: LeNet-5's layout with 8/16 filters, the first convolution zero-padded by 2 so
// 28×28 digits keep their size.
import type { ModelSpec } from '../model-spec.js';

export interface LeNetOptions {
  numClasses?: number;
  inChannels?: number;
  imageSize?: number;
  seed?: number;
}

export function lenet(o: LeNetOptions = {}): ModelSpec {
  const size = o.imageSize ?? 28;
  return {
    inputShape: [o.inChannels ?? 1, size, size],
    seed: o.seed ?? 0,
    layers: [
      { type: 'conv2d', filters: 8, kernelSize: 5, padding: 2 },
      { type: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'conv2d', filters: 16, kernelSize: 5 },
      { type: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: o.numClasses ?? 10 },
    ],
  };
}
