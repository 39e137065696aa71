// Blow-ups are caught at the step they happen: a non-finite loss, gradient or weight undoes its step and
// then throws, skips or stops (onNonFinite); a finite but exploding loss raises a divergence warning.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET } from '../examples/mnist-demo-model.js';
import type { OptimizerConfig } from '../ts/src/index.js';
import type { TrainingWarning } from '../ts/src/train/fit.js';
import { engine } from './helpers.js';

const d = loadMnist(1, 256, 32);
const spec = { inputShape: [1, 28, 28], layers: LENET, seed: 5 };

const allFinite = (w: Record<string, Float32Array>) => Object.values(w).every((v) => v.every(Number.isFinite));

describe('onNonFinite', () => {
  it("Adam at lr 1e38: the first step's update is undone and fit rejects naming the tensors (default 'throw')", async () => {
    const e = await engine();
    using m = e.sequential(spec);
    using opt = e.optimizer({ type: 'adam', lr: 1e38 }, m);
    const before = m.getWeights();
    const state = opt.saveState();
    await expect(m.fit(d.trainImages, d.trainLabels, { epochs: 1, batchSize: 32, optimizer: opt })).rejects.toThrow(
      /fit: the update at epoch 0, step 0 made weights non-finite in 0\.weight, .*7\.weight.*The model and optimizer are as before this step/,
    );
    expect(m.getWeights()).toEqual(before);
    expect(opt.saveState()).toEqual(state);
    expect(allFinite(m.getWeights())).toBe(true);
    const { loss } = await m.evaluate(d.testImages, d.testLabels);
    expect(Number.isFinite(loss)).toBe(true);
  });

  it("'skipStep' goes on after each undone step and reports it; 'restore' stops at the first and resolves", async () => {
    const e = await engine();
    using m = e.sequential(spec);
    const before = m.getWeights();
    const warnings: TrainingWarning[] = [];
    const h = await m.fit(d.trainImages, d.trainLabels, {
      epochs: 1, batchSize: 64, optimizer: { type: 'adam', lr: 1e38 }, onNonFinite: 'skipStep',
      callbacks: { onWarning: (w) => void warnings.push(w) },
    });
    // Every step blows up from the same weights, so every one is skipped and the weights never move.
    expect(warnings.map((w) => w.kind)).toEqual(['nonFinite', 'nonFinite', 'nonFinite', 'nonFinite']);
    expect(h.warnings).toEqual(warnings);
    expect(warnings[2]).toMatchObject({ epoch: 0, step: 2, what: 'weight' });
    expect(m.getWeights()).toEqual(before);

    const r = await m.fit(d.trainImages, d.trainLabels, { epochs: 3, batchSize: 64, optimizer: { type: 'adam', lr: 1e38 }, onNonFinite: 'restore' });
    expect(r.nonFinite).toMatchObject({ epoch: 0, step: 0, what: 'weight' });
    expect(r.epochs).toEqual([]);
    expect(m.getWeights()).toEqual(before);
  });

  it('a non-finite loss names the first layer whose output is non-finite, before any update', async () => {
    const e = await engine();
    using m = e.sequential(spec);
    // Weights finite in float32 but so large that the first conv's outputs overflow to Infinity.
    const w = m.getWeights();
    w['0.weight'] = w['0.weight'].map(() => 3e38);
    m.setWeights(w);
    using opt = e.optimizer('adam', m);
    await expect(m.fit(d.trainImages, d.trainLabels, { batchSize: 32, optimizer: opt })).rejects.toThrow(
      /fit: the loss became NaN at epoch 0, step 0 \(first non-finite layer output: 0\)/,
    );
    expect(opt.steps).toBe(0);
    expect(m.getWeights()).toEqual(w);
  });

  it('non-finite gradients (finite loss) are caught before the update and name the tensors', async () => {
    const e = await engine();
    using m = e.sequential({ inputShape: [2], layers: [{ type: 'dense', units: 2 }, { type: 'dense', units: 3 }], seed: 1 });
    // h = x·W1 ≈ 1e-38 and W2 = ±3e38 keep the logits at ±6, but dh = dz·W2 reaches 6e38: the first layer's
    // gradient overflows while the loss is finite.
    const w = m.getWeights();
    w['0.weight'] = w['0.weight'].map(() => 5e-39);
    w['1.weight'] = Float32Array.from([-3e38, -3e38, 3e38, 3e38, 3e38, 3e38]);
    m.setWeights(w);
    await expect(m.fit(new Float32Array([1, 1]), [0], { batchSize: 1, optimizer: { type: 'sgd', lr: 0.1 } })).rejects.toThrow(
      /fit: the gradients became non-finite at epoch 0, step 0 in 0\.weight, 0\.bias;/,
    );
    expect(m.getWeights()).toEqual(w);
  });
});

describe('divergence warning', () => {
  it('lr 1e6 with Adam, RMSprop and Adagrad: the exploding loss is reported while it is still finite', async () => {
    const e = await engine();
    for (const type of ['adam', 'rmsprop', 'adagrad'] as const) {
      using m = e.sequential(spec);
      const warnings: TrainingWarning[] = [];
      const h = await m.fit(d.trainImages, d.trainLabels, {
        epochs: 3, batchSize: 16, optimizer: { type, lr: 1e6 } as OptimizerConfig, onNonFinite: 'restore',
        callbacks: { onWarning: (w) => void warnings.push(w) },
      });
      const div = warnings.filter((w) => w.kind === 'divergence');
      expect(div.length, type).toBeGreaterThan(0);
      expect(div[0].message).toMatch(/is above 4× its minimum .*: training is diverging/);
      expect(h.warnings).toEqual(warnings);
    }
  });

  it('stays silent on healthy training', async () => {
    const e = await engine();
    using m = e.sequential(spec);
    const h = await m.fit(d.trainImages, d.trainLabels, { epochs: 3, batchSize: 16, optimizer: { type: 'adam', lr: 1e-3 } });
    expect(h.warnings).toEqual([]);
  });
});

describe('callbacks that break the model', () => {
  it('model.dispose() inside onBatchEnd stops fit with a clear error', async () => {
    const e = await engine();
    const m = e.sequential(spec);
    const live = e.liveBytes();
    await expect(
      m.fit(d.trainImages, d.trainLabels, { batchSize: 32, callbacks: { onBatchEnd: () => m.dispose() } }),
    ).rejects.toThrow(/fit: the model was disposed during training \(in onBatchEnd\); training stopped/);
    expect(e.liveBytes()).toBeLessThan(live);
  });
});
