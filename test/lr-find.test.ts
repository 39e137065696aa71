// The LR range test: an exponential ramp, a smoothed loss, a stop at divergence, the model and optimizer
// restored bitwise, and a suggestion inside the range where Adam trains this model well (measured here).
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import { suggest } from '../ts/src/train/lr-find.js';
import { engine } from './helpers.js';

const d = loadMnist(11, 2000, 1000);
normalize(d.trainImages);
normalize(d.testImages);
const spec = { inputShape: [1, 28, 28], layers: LENET, seed: 3 };

describe('lrFind', () => {
  it('restores the weights and a given optimizer bitwise; the curve ramps exponentially and stops at divergence', async () => {
    const e = await engine();
    using m = e.sequential(spec);
    // SGD with momentum: its loss blows up past 0.1 here, then the dead net's settles near ln 10, so the
    // smoothed loss rises to ~1.6× its minimum (not fastai's 4×): a 1.5× divergence stops it.
    using opt = e.optimizer({ type: 'sgd', lr: 1e-2, momentum: 0.9 }, m);
    await m.fit(d.trainImages.subarray(0, 64 * 784), d.trainLabels.slice(0, 64), { batchSize: 32, optimizer: opt });
    const [w, s] = [m.getWeights(), opt.saveState()];
    const r = await m.lrFind(d.trainImages, d.trainLabels, { optimizer: opt, start: 1e-5, steps: 100, batchSize: 32, divergence: 1.5 });
    expect(m.getWeights()).toEqual(w);
    expect(opt.saveState()).toEqual(s);
    expect(r.lrs[0]).toBe(1e-5);
    for (let i = 1; i < r.lrs.length; i++) expect(r.lrs[i] / r.lrs[i - 1]).toBeCloseTo((10 / 1e-5) ** (1 / 99), 12);
    expect(r.diverged).toBe(true);
    expect(r.lrs.length).toBeLessThan(100);
    const last = r.smoothed.at(-1)!;
    expect(last).toBeGreaterThan(1.5 * Math.min(...r.smoothed));
    console.log(`lrFind (SGD momentum 0.9, LeNet): ${r.lrs.length} steps, stopped at lr ${r.lrs.at(-1)!.toExponential(2)}; suggestions ${JSON.stringify(r.suggestions)}`);
    console.log(r.lrs.map((lr, i) => `${lr.toExponential(1)}:${r.smoothed[i].toFixed(3)}`).filter((_, i) => i % 5 === 0).join(' '));
  });

  it("its suggestion lands where Adam trains the demo model well (a sweep of rates, one epoch each)", async () => {
    const e = await engine();
    using m = e.sequential(spec);
    const r = await m.lrFind(d.trainImages, d.trainLabels, { optimizer: 'adam', batchSize: 32 });
    const sweep: [number, number][] = [];
    for (const lr of [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]) {
      using t = e.sequential(spec);
      await t.fit(d.trainImages, d.trainLabels, { epochs: 1, batchSize: 32, optimizer: { type: 'adam', lr }, onNonFinite: 'restore', divergence: false });
      sweep.push([lr, (await t.evaluate(d.testImages, d.testLabels)).accuracy!]);
    }
    const best = Math.max(...sweep.map(([, a]) => a));
    // Trains well: at least 80% of the best accuracy after one epoch.
    const good = sweep.filter(([, a]) => a >= 0.8 * best).map(([lr]) => lr);
    console.log(`sweep (lr: accuracy after 1 epoch): ${sweep.map(([lr, a]) => `${lr}: ${(100 * a).toFixed(1)}%`).join(', ')}`);
    console.log(`good range [${Math.min(...good)}, ${Math.max(...good)}]; suggestions ${JSON.stringify(r.suggestions)}`);
    const v = r.suggestions.valley!;
    expect(v).toBeGreaterThanOrEqual(Math.min(...good) / 2);
    expect(v).toBeLessThanOrEqual(Math.max(...good) * 2);
  }, 120_000);

  it("fastai's suggestion rules on a synthetic curve", () => {
    const lrs = Array.from({ length: 11 }, (_, i) => 10 ** (i - 8));
    const losses = [2.3, 2.3, 2.29, 2.2, 1.9, 1.2, 0.8, 0.7, 0.9, 2, 5];
    const s = suggest(lrs, losses);
    expect(s.steepest).toBe(1e-3); // 1.9 → 1.2 is the steepest drop
    expect(s.minimum).toBeCloseTo(lrs[7] / 10, 15); // the minimum 0.7 is at lrs[7]
    // Longest descent: 2.3, 2.29, 2.2, 1.9, 1.2, 0.8, 0.7 (7 values, ending at index 7): start 0, a third
    // of 7 is 2.33, so index 0 + 2 + 1 = 3.
    expect(s.valley).toBe(lrs[3]);
  });

  it('bad options name themselves', async () => {
    const e = await engine();
    using m = e.sequential(spec);
    await expect(m.lrFind(d.trainImages, d.trainLabels, { start: 0 })).rejects.toThrow(/lrFind: start must be in \(0, Infinity\], got 0/);
    await expect(m.lrFind(d.trainImages, d.trainLabels, { steps: 1 })).rejects.toThrow(/lrFind: steps must be in \[2, ∞\], got 1/);
    await expect(m.lrFind(d.trainImages, d.trainLabels, { bogus: 1 } as never)).rejects.toThrow(/lrFind: unknown option 'bogus'/);
  });
});
