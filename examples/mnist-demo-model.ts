// The LeNet-style CNN of the demo and the benchmark (the same architecture in every implementation):
// LeNet-5's layout with 8/16 filters, the first convolution zero-padded by 2 so 28×28 digits keep their size.
import type { LayerSpec } from '../ts/src/index.js';

export const LENET: LayerSpec[] = [
  { type: 'conv2d', filters: 8, kernelSize: 5, padding: 2 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 16, kernelSize: 5 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 10 },
] satisfies LayerSpec[];

/** MNIST's pixel mean and standard deviation (the usual normalisation, as in PyTorch's MNIST example). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Normalises pixels in place: (x − mean) / std. */
export function normalize(images: Float32Array): Float32Array {
  for (let i = 0; i < images.length; i++) images[i] = (images[i] - MNIST_MEAN) / MNIST_STD;
  return images;
}
