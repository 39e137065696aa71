// The Sequential model: training on real MNIST lowers the loss, seeds are reproducible, JSON round-trips,
// summary() describes the model.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import { engine } from './helpers.js';

const data = loadMnist(3, 1000, 300);
normalize(data.trainImages);
normalize(data.testImages);

describe('Sequential', () => {
  it('summary lists each layer, its output shape and parameter count', async () => {
    const e = await engine();
    using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
    expect(m.summaryRows().map((r) => [r.name, r.outputShape, r.params])).toEqual([
      ['0', [8, 28, 28], 8 * 25 + 8],
      ['1', [8, 28, 28], 0],
      ['2', [8, 14, 14], 0],
      ['3', [16, 10, 10], 16 * 8 * 25 + 16],
      ['4', [16, 10, 10], 0],
      ['5', [16, 5, 5], 0],
      ['6', [400], 0],
      ['7', [10], 4010],
    ]);
    expect(m.numParams).toBe(208 + 3216 + 4010);
    expect(m.summary()).toContain('Total params: 7,434');
  });

  it('training on real digits lowers the loss and beats chance by far, for every optimizer', async () => {
    const e = await engine();
    for (const optimizer of [{ type: 'adam', lr: 2e-3 }, { type: 'rmsprop', lr: 1e-3 }, { type: 'adagrad', lr: 2e-2 }] as const) {
      using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, init: 'pytorch', seed: 2 });
      const before = await m.evaluate(data.testImages, data.testLabels);
      const losses: number[] = [];
      const h = await m.fit(data.trainImages, data.trainLabels, {
        epochs: 3, batchSize: 32, optimizer, seed: 2, callbacks: { onBatchEnd: (b) => void losses.push(b.loss) },
      });
      const after = await m.evaluate(data.testImages, data.testLabels);
      expect(losses.length).toBe(3 * Math.ceil(1000 / 32));
      expect(h.epochs[2].loss).toBeLessThan(h.epochs[0].loss);
      expect(after.loss).toBeLessThan(before.loss * 0.5);
      console.log(`${optimizer.type}: test loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}, accuracy ${after.accuracy}`);
      expect(after.accuracy).toBeGreaterThan(0.8); // chance is 0.1
    }
  });

  it('the same seeds give bitwise-identical weights; another seed does not', async () => {
    const e = await engine();
    const run = async (seed: number) => {
      using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed });
      await m.fit(data.trainImages.subarray(0, 200 * 784), data.trainLabels.subarray(0, 200), { batchSize: 16, seed, optimizer: 'adam' });
      return m.getWeights();
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    for (const k of Object.keys(a)) expect(Buffer.from(a[k].buffer).equals(Buffer.from(b[k].buffer))).toBe(true);
    expect(Buffer.from(a['0.weight'].buffer).equals(Buffer.from(c['0.weight'].buffer))).toBe(false);
  });

  it('toJSON / modelFromJSON round-trips the architecture and weights exactly', async () => {
    const e = await engine();
    using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 9, init: 'glorot' });
    await m.fit(data.trainImages.subarray(0, 64 * 784), data.trainLabels.subarray(0, 64), { batchSize: 32 });
    const json = JSON.parse(JSON.stringify(m.toJSON()));
    using back = e.modelFromJSON(json);
    expect(back.summary()).toBe(m.summary());
    const x = data.testImages.subarray(0, 10 * 784);
    expect(Array.from(await back.predict(x))).toEqual(Array.from(await m.predict(x)));
    const bare = m.toJSON({ weights: false });
    expect(bare.weights).toBeUndefined();
    using fresh = e.modelFromJSON(bare);
    using reinit = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 9, init: 'glorot' });
    expect(fresh.getWeights()).toEqual(reinit.getWeights());
  });

  it('predict gives probabilities that sum to 1, and logits on request', async () => {
    const e = await engine();
    using m = e.sequential({ inputShape: [1, 28, 28], layers: LENET, seed: 1 });
    const x = data.testImages.subarray(0, 7 * 784);
    const p = await m.predict(x, { batchSize: 3 });
    expect(p.length).toBe(70);
    for (let s = 0; s < 7; s++) expect(p.subarray(s * 10, s * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const z = await m.predict(x, { logits: true });
    expect(z.some((v) => v < 0)).toBe(true);
  });

  it('a bring-your-own loop: lossAndGradients + an optimizer on plain buffers', async () => {
    const e = await engine();
    using m = e.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 3 }], seed: 1 });
    const shapes = m.parameterShapes();
    expect(shapes).toEqual([{ name: '0.weight', shape: [3, 4] }, { name: '0.bias', shape: [3] }]);
    const x = Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0]);
    const { loss, gradients } = m.lossAndGradients(x, [0, 2]);
    expect(loss).toBeGreaterThan(0);
    expect(gradients['0.weight'].length).toBe(12);
    // The gradient of the mean loss w.r.t. the bias sums (softmax - onehot)/batch over the batch: its entries sum to 0.
    expect(gradients['0.bias'].reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
  });
});
