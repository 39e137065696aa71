// A ResNet with BatchNorm (three residual stages) trains on the demo's MNIST split (its training digits and
// a shifted copy of each: resnet-mnist-setup.ts) to ≥ 98.5% test accuracy, and within 0.5 points of what
// PyTorch reaches with the same model, split, initial weights, sample order, optimizer and schedule
// (test/golden/gen_resnet_mnist.py: resnet_mnist.json).
import { describe, expect, it } from 'vitest';
import { engine, golden } from './helpers.js';
import { FIT, mnistSet, SPEC } from './resnet-mnist-setup.js';

describe('ResNet-14 with BatchNorm on MNIST', () => {
  it('reaches ≥ 98.5% test accuracy, within 0.5 points of PyTorch from the same start', async () => {
    const torch = golden<{ testAccuracy: number; epochLosses: number[] }>('resnet_mnist.json');
    const d = mnistSet();
    const e = await engine();
    using m = e.model(SPEC);
    const h = await m.fit(d.trainImages, d.trainLabels, FIT);
    const { accuracy } = await m.evaluate(d.testImages, d.testLabels);
    console.log(
      `ResNet-14: test accuracy ${(100 * accuracy!).toFixed(2)}% (PyTorch ${(100 * torch.testAccuracy).toFixed(2)}%); ` +
        `epoch losses ${h.epochs.map((x) => x.loss.toFixed(4)).join(', ')} (PyTorch ${torch.epochLosses.map((x) => x.toFixed(4)).join(', ')})`,
    );
    expect(accuracy!).toBeGreaterThanOrEqual(0.985);
    expect(Math.abs(accuracy! - torch.testAccuracy)).toBeLessThanOrEqual(0.005);
  }, 600_000);
});
