// Schedule-Free in fit: validation, early stopping and the weights fit leaves are the averaged weights x
// (the optimizer's eval swap); the next fit swaps back to y and continues as if never swapped.
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import type { ScheduleFreeAdamW } from '../ts/src/index.js';
import { engine } from './helpers.js';

const d = loadMnist(17, 512, 256);
normalize(d.trainImages);
normalize(d.testImages);
const spec = { inputShape: [1, 28, 28], layers: LENET, seed: 6 };

describe('Schedule-Free through fit', () => {
  it('validation and the weights after fit are x; two fits of 1 epoch equal one fit of 2', async () => {
    const e = await engine();
    const fitOpts = { batchSize: 32, seed: 1, validationData: { x: d.testImages, y: d.testLabels } };
    using a = e.sequential(spec);
    using oa = e.optimizer({ type: 'schedulefree_adamw', lr: 2e-3, warmupSteps: 10 }, a) as ScheduleFreeAdamW;
    const h = await a.fit(d.trainImages, d.trainLabels, { ...fitOpts, epochs: 2, optimizer: oa });
    expect(oa.mode).toBe('eval');
    const now = await a.evaluate(d.testImages, d.testLabels, { batchSize: 32 });
    expect(now.loss).toBe(h.epochs[1].valLoss);
    // The buffer holds x; swapping to y changes it, swapping back restores x.
    const x = a.getWeights();
    oa.train(a._buffers.params);
    expect(a.getWeights()).not.toEqual(x);
    oa.eval(a._buffers.params);
    const back = a.getWeights();
    for (const k of Object.keys(x)) for (let i = 0; i < x[k].length; i++) expect(Math.abs(back[k][i] - x[k][i])).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(x[k][i])));

    using b = e.sequential(spec);
    using ob = e.optimizer({ type: 'schedulefree_adamw', lr: 2e-3, warmupSteps: 10 }, b) as ScheduleFreeAdamW;
    await b.fit(d.trainImages, d.trainLabels, { ...fitOpts, epochs: 1, optimizer: ob });
    await b.fit(d.trainImages, d.trainLabels, { ...fitOpts, epochs: 1, seed: 1, optimizer: ob, resume: undefined });
    expect(ob.steps).toBe(oa.steps);
  });
});
