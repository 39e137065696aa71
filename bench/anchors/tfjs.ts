// TensorFlow.js anchor: the same LeNet-style net as a tfjs-layers Sequential model, pure-JS CPU backend.
//
// Layout: tfjs convolutions are channelsLast natively (NHWC), so the NCHW 1×28×28 images are reshaped to
// [N, 28, 28, 1]. With a single input channel this is the same memory order, so no transpose is needed.
// Deeper layers are NHWC too, so flatten orders the 400 features differently from NCHW implementations;
// that is a relabelling of the dense weights, not a different model.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';

import type { AnchorData, AnchorResult } from './convnetjs.js';

const PIXELS = 28 * 28;

export function makeTfjsLenet(): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 5,
        strides: 1,
        padding: 'same',
        dataFormat: 'channelsLast',
        activation: 'relu',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, dataFormat: 'channelsLast' }),
      tfl.layers.conv2d({
        filters: 16,
        kernelSize: 5,
        strides: 1,
        padding: 'valid',
        dataFormat: 'channelsLast',
        activation: 'relu',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, dataFormat: 'channelsLast' }),
      tfl.layers.flatten(), // 5·5·16 = 400
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-8),
    loss: 'categoricalCrossentropy',
  });
  return model;
}

/** Batch `b` of the data as ([bs,28,28,1] images, [bs,10] one-hot labels); wraps around the data set. */
function makeBatch(data: AnchorData, start: number, size: number): [tf.Tensor4D, tf.Tensor2D] {
  const n = data.labels.length;
  const xs = new Float32Array(size * PIXELS);
  const ys = new Float32Array(size * 10);
  for (let i = 0; i < size; i++) {
    const k = (start + i) % n;
    xs.set(data.images.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
    ys[i * 10 + data.labels[k]] = 1;
  }
  return [tf.tensor4d(xs, [size, 28, 28, 1]), tf.tensor2d(ys, [size, 10])];
}

export async function tfjsLenetTrain(
  data: AnchorData,
  opts: { batchSize: number; samples: number; backend: 'cpu' },
): Promise<AnchorResult<'tfjs-cpu'>> {
  if (data.labels.length === 0) throw new RangeError('tfjsLenetTrain: no data');
  await tf.setBackend(opts.backend);
  await tf.ready();

  const model = makeTfjsLenet();
  const bs = opts.batchSize;
  const nBatches = Math.ceil(opts.samples / bs);
  // All input tensors are built before timing; the last batch is trimmed so exactly `samples` are trained.
  const warm = makeBatch(data, 0, bs);
  const batches: [tf.Tensor4D, tf.Tensor2D][] = [];
  for (let b = 0; b < nBatches; b++) batches.push(makeBatch(data, b * bs, Math.min(bs, opts.samples - b * bs)));

  try {
    await model.trainOnBatch(warm[0], warm[1]); // warm-up (kernel setup, optimizer slot creation)
    const t0 = performance.now();
    // trainOnBatch runs in its own tidy scope and awaits the loss value, so each step is fully
    // computed before the next starts and memory stays flat.
    for (const [x, y] of batches) await model.trainOnBatch(x, y);
    const seconds = (performance.now() - t0) / 1000;
    return { impl: 'tfjs-cpu', samples: opts.samples, seconds, samplesPerSec: opts.samples / seconds };
  } finally {
    tf.dispose(warm);
    for (const b of batches) tf.dispose(b);
    model.optimizer.dispose();
    model.dispose();
  }
}

/** Loss of each of `steps` consecutive batches (for the --verify check). */
export async function tfjsLenetLossCurve(data: AnchorData, batchSize: number, steps: number): Promise<number[]> {
  await tf.setBackend('cpu');
  await tf.ready();
  const model = makeTfjsLenet();
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const [x, y] = makeBatch(data, s * batchSize, batchSize);
      const loss = await model.trainOnBatch(x, y);
      losses.push(Array.isArray(loss) ? loss[0] : loss);
      tf.dispose([x, y]);
    }
  } finally {
    model.optimizer.dispose();
    model.dispose();
  }
  return losses;
}
