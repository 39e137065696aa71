// The demo's promise as a test: the LeNet-style CNN reaches ≥ 97% test accuracy on the seeded 8,000/2,000
// MNIST split with Adam, trained exactly as `npm run demo` trains it.
import { expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import { engine } from './helpers.js';

it('LeNet on real MNIST reaches ≥ 97% test accuracy with Adam', async () => {
  const e = await engine();
  const d = loadMnist(1, 8000, 2000);
  normalize(d.trainImages);
  normalize(d.testImages);
  using model = e.sequential({ inputShape: [1, 28, 28], layers: LENET, init: 'pytorch', seed: 1 });
  using opt = e.optimizer({ type: 'adam', lr: 2e-3 }, model);
  const epochs = 10;
  await model.fit(d.trainImages, d.trainLabels, {
    epochs,
    batchSize: 64,
    optimizer: opt,
    seed: 1,
    callbacks: { onEpochEnd: ({ epoch }) => void (opt.lr = 2e-3 * 0.5 * (1 + Math.cos((Math.PI * (epoch + 1)) / epochs))) },
  });
  const { accuracy } = await model.evaluate(d.testImages, d.testLabels);
  console.log(`LeNet/Adam test accuracy ${(100 * accuracy!).toFixed(2)}%`);
  expect(accuracy!).toBeGreaterThanOrEqual(0.97);
}, 300_000);
