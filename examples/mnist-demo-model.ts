// The LeNet-style CNN of the demo and the benchmark (the same architecture in every implementation): the
// zoo's `models.lenet()`, LeNet-5's layout with 8/16 filters and the first convolution zero-padded by 2.
import { models, type LayerSpec } from '../ts/src/index.js';

export const LENET: LayerSpec[] = [...models.lenet().layers];

/** MNIST's pixel mean and standard deviation (the usual normalisation, as in PyTorch's MNIST example). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Normalises pixels in place: (x − mean) / std. */
export function normalize(images: Float32Array): Float32Array {
  for (let i = 0; i < images.length; i++) images[i] = (images[i] - MNIST_MEAN) / MNIST_STD;
  return images;
}
