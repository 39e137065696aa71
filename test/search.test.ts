// Hyperparameter search: grid enumerates the product exactly; random sampling is reproducible for a seed and
// stays inside (log-)uniform bounds; successive halving keeps ⌊n/η⌋ per rung by the metric; a real search
// over Adam's lr for LeNet on MNIST, in 2 worker threads, gives the same table twice; a trial that throws,
// returns NaN, or kills its worker is recorded as failed and the search goes on.
// Synthetic trials run on engines in this thread (where: 'local'); the worker tests use the built package
// (ts/dist), whose worker loads its host script natively (as test/remote.test.ts does).
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import { search } from '../ts/src/index.js';
import type { SearchOptions, TrialContext } from '../ts/src/train/search.js';

const dist = (): Promise<typeof import('../ts/src/index.js')> => import('../ts/dist/index.js' as string);
const LOCAL = { where: 'local', threads: 1 } as const;

/** A synthetic metric: lower is better, smaller with more budget, different per configuration. */
const metric = (c: Record<string, unknown>, b: number) => ((c.x as number) - 0.3) ** 2 + 1 / b;
const synthetic = async (c: Record<string, unknown>, ctx: TrialContext) => metric(c, ctx.budget);

describe('search: strategies', () => {
  it('grid enumerates the product of the values exactly, last path fastest, merged into base', async () => {
    const r = await search({
      strategy: 'grid', space: { 'optimizer.lr': { values: [0.1, 0.01, 0.001] }, batchSize: { values: [16, 32] } },
      base: { optimizer: { type: 'adam', betas: [0.9, 0.99] }, epochs: 3 }, engine: LOCAL, workers: 2,
      train: async (c) => (c.optimizer as { lr: number }).lr * (c.batchSize as number),
    });
    expect(r.trials.map((t) => t.params)).toEqual([
      { 'optimizer.lr': 0.1, batchSize: 16 }, { 'optimizer.lr': 0.1, batchSize: 32 }, { 'optimizer.lr': 0.01, batchSize: 16 },
      { 'optimizer.lr': 0.01, batchSize: 32 }, { 'optimizer.lr': 0.001, batchSize: 16 }, { 'optimizer.lr': 0.001, batchSize: 32 },
    ]);
    expect(r.trials[3].config).toEqual({ optimizer: { type: 'adam', betas: [0.9, 0.99], lr: 0.01 }, epochs: 3, batchSize: 32 });
    expect(r.trials.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.trials.every((t) => t.status === 'ok' && t.rungs.length === 1 && t.rungs[0].budget === 1)).toBe(true);
    expect(r.best).toMatchObject({ index: 4, metric: 0.016, params: { 'optimizer.lr': 0.001, batchSize: 16 } });
    await expect(search({ strategy: 'grid', space: { a: { values: [1, 2] } }, trials: 3, train: synthetic })).rejects.toThrow(
      /^search: the grid has 2 points; trials must be absent or 2, got 3$/,
    );
    await expect(search({ strategy: 'grid', space: { a: { min: 0, max: 1 } }, train: synthetic })).rejects.toThrow(/a grid needs \{ values \}/);
  });

  it('random: the same seed gives the same configs and seeds; inside the bounds, log-uniform where asked', async () => {
    const space: SearchOptions['space'] = {
      lr: { min: 1e-5, max: 1e-1, log: true }, x: { min: -1, max: 1 }, depth: { min: 2, max: 5, integer: true }, act: { values: ['relu', 'tanh'] },
    };
    const run = (seed: number, trials: number) => search({ space, trials, seed, engine: LOCAL, workers: 2, train: async () => 0 });
    const [a, b, c, prefix] = await Promise.all([run(7, 400), run(7, 400), run(8, 400), run(7, 50)]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(c.trials.map((t) => t.params))).not.toBe(JSON.stringify(a.trials.map((t) => t.params)));
    expect(prefix.trials).toEqual(a.trials.slice(0, 50)); // a trial's draw does not depend on how many there are
    expect(new Set(a.trials.map((t) => t.seed)).size).toBe(400);
    const lr = a.trials.map((t) => t.params.lr as number);
    expect(lr.every((v) => v >= 1e-5 && v <= 1e-1)).toBe(true);
    // Log-uniform over four decades: a quarter per decade, mean log10 at the middle (−3).
    const logs = lr.map(Math.log10);
    const perDecade = [-5, -4, -3, -2].map((d) => logs.filter((v) => v >= d && v < d + 1).length);
    console.log('lr per decade [1e-5, 1e-4, 1e-3, 1e-2):', perDecade.join(' '), 'mean log10', (logs.reduce((s, v) => s + v, 0) / 400).toFixed(3));
    expect(perDecade.every((n) => n > 70 && n < 130)).toBe(true);
    expect(Math.abs(logs.reduce((s, v) => s + v, 0) / 400 + 3)).toBeLessThan(0.15);
    const xs = a.trials.map((t) => t.params.x as number);
    expect(xs.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(new Set(a.trials.map((t) => t.params.depth))).toEqual(new Set([2, 3, 4, 5]));
    expect(new Set(a.trials.map((t) => t.params.act))).toEqual(new Set(['relu', 'tanh']));
  });

  it('successive halving keeps ⌊n/η⌋ of each rung by the metric, doubling the budget, until one is left', async () => {
    const space = { x: { min: 0, max: 1 } };
    const seen: [number, number][] = [];
    const r = await search({
      strategy: 'successiveHalving', space, trials: 27, eta: 3, budget: 1, seed: 3, engine: LOCAL, workers: 3,
      train: async (c, ctx) => {
        seen.push([ctx.rung, ctx.trial]);
        if (ctx.trial === 5) throw new Error('trial 5 breaks');
        return synthetic(c, ctx);
      },
    });
    const rung = (k: number) => r.trials.filter((t) => t.rungs.length > k);
    expect([0, 1, 2, 3].map((k) => rung(k).length)).toEqual([26, 9, 3, 1]); // 27 ran rung 0, one of them failed
    expect([0, 1, 2, 3].map((k) => seen.filter(([g]) => g === k).length)).toEqual([27, 9, 3, 1]);
    for (let k = 1; k <= 3; k++) {
      // The ones promoted are exactly the best of the previous rung (failed ones never).
      const prev = rung(k - 1).sort((a, b) => a.rungs[k - 1].metric - b.rungs[k - 1].metric);
      expect(rung(k).map((t) => t.index).sort((a, b) => a - b)).toEqual(prev.slice(0, rung(k).length).map((t) => t.index).sort((a, b) => a - b));
      expect(rung(k).every((t) => t.rungs[k].budget === 2 ** k)).toBe(true);
    }
    expect(r.trials[5]).toMatchObject({ status: 'failed', error: { name: 'Error', message: 'trial 5 breaks' }, rungs: [] });
    const winner = rung(3)[0];
    expect(r.best).toEqual({ index: winner.index, config: winner.config, params: winner.params, metric: metric(winner.config, 8), budget: 8 });
    // The winner is the x closest to 0.3 among the 26 that ran.
    const closest = rung(0).reduce((a, b) => (Math.abs((b.params.x as number) - 0.3) < Math.abs((a.params.x as number) - 0.3) ? b : a));
    expect(winner.index).toBe(closest.index);
    const ten = await search({ strategy: 'successiveHalving', space, trials: 10, eta: 2, engine: LOCAL, train: synthetic });
    expect([0, 1, 2, 3].map((k) => ten.trials.filter((t) => t.rungs.length > k).length)).toEqual([10, 5, 2, 1]);
  });

  it('options are checked before anything runs', async () => {
    const bad: [unknown, RegExp][] = [
      [{ space: {}, train: synthetic }, /^search: space must map option paths/],
      [{ space: { lr: { min: 0, max: 1, log: true } }, train: synthetic }, /^search: space\['lr'\]: a log-uniform range needs min > 0, got 0$/],
      [{ space: { lr: { min: 2, max: 1 } }, train: synthetic }, /min ≤ max/],
      [{ space: { 'a..b': { values: [1] } }, train: synthetic }, /a path is dotted names/],
      [{ space: { a: { values: [1] } }, strategy: 'bayes', train: synthetic }, /^search: strategy must be one of 'grid', 'random', 'successiveHalving', got "bayes"$/],
      [{ space: { a: { values: [1] } }, eta: 1, train: synthetic }, /^search: eta must be a finite number > 1, got 1$/],
      [{ space: { a: { values: [1] } }, train: 5 }, /^search: train must be a function/],
      [{ space: { a: { values: [1] } }, train: synthetic, objective: { mode: 'up' } }, /^search: objective.mode must be 'min' or 'max', got "up"$/],
      [{ space: { a: { values: [1] } }, train: synthetic, trails: 3 }, /^search: unknown option 'trails'/],
    ];
    for (const [o, msg] of bad) await expect(search(o as SearchOptions), JSON.stringify(o)).rejects.toThrow(msg);
  });
});

describe('search in worker threads', () => {
  const d = loadMnist(1, 600, 200);
  const train = { spec: { inputShape: [1, 28, 28], layers: LENET, init: 'pytorch' as const }, x: normalize(d.trainImages), y: d.trainLabels,
    validationData: { x: normalize(d.testImages), y: d.testLabels }, fit: { batchSize: 32 } };

  it("a small search over Adam's lr for LeNet on MNIST, 2 workers: the same table twice", async () => {
    const { search: s } = await dist();
    const opts: SearchOptions = {
      space: { 'optimizer.lr': { min: 1e-4, max: 3e-2, log: true } }, base: { optimizer: { type: 'adam' } },
      strategy: 'random', trials: 4, budget: 1, workers: 2, seed: 11, train,
    };
    const t0 = performance.now();
    const [a, b] = [await s(opts), await s(opts)];
    console.log(`2 searches of 4 trials in ${((performance.now() - t0) / 1000).toFixed(1)} s; best lr ${(a.best!.params['optimizer.lr'] as number).toPrecision(3)} valLoss ${a.best!.metric.toFixed(4)}`);
    for (const t of a.trials) console.log(`  trial ${t.index}: lr ${(t.params['optimizer.lr'] as number).toPrecision(3)} seed ${t.seed} valLoss ${t.rungs[0].metric.toFixed(5)} valAccuracy ${t.rungs[0].metrics!.valAccuracy}`);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.trials.every((t) => t.status === 'ok')).toBe(true);
    const losses = a.trials.map((t) => t.rungs[0].metric);
    expect(new Set(losses).size).toBe(4);
    expect(a.best!.metric).toBe(Math.min(...losses));
    expect(a.trials[a.best!.index].rungs[0].metrics!.valAccuracy).toBeGreaterThan(0.5);
  }, 60_000);

  it('a trial that throws, one that returns NaN and one that kills its worker are failed rows; the others run', async () => {
    const { search: s } = await dist();
    const r = await s({
      strategy: 'grid', space: { trial: { values: [0, 1, 2, 3, 4, 5] } }, workers: 2, seed: 1,
      train: async (c, ctx) => {
        if (c.trial === 1) throw new RangeError('no good');
        if (c.trial === 2) return NaN;
        const m = await ctx.engine.sequential({ inputShape: [4], layers: [{ type: 'dense', units: 2 }], seed: ctx.seed });
        const x = new Float32Array(64 * 4).map((_, i) => Math.sin(i));
        const y = Array.from({ length: 64 }, (_, i) => i % 2);
        // Trial 3 kills its worker in the middle of fit.
        const cb = c.trial === 3 ? { onBatchEnd: async (b: { batch: number }) => void (b.batch === 2 && (await ctx.engine.terminate())) } : undefined;
        const h = await m.fit(x, y, { batchSize: 8, callbacks: cb });
        await m.dispose();
        return h.epochs[0].loss;
      },
    });
    console.log(r.trials.map((t) => `${t.index} ${t.status}${t.error ? ` (${t.error.name}: ${t.error.message})` : ''}`).join('\n'));
    expect(r.trials.map((t) => t.status)).toEqual(['ok', 'failed', 'failed', 'failed', 'ok', 'ok']);
    expect(r.trials[1].error).toEqual({ name: 'RangeError', message: 'no good' });
    expect(r.trials[2].error).toEqual({ name: 'RangeError', message: "the trial's metric is NaN" });
    expect(r.trials[3].error!.message).toMatch(/terminated/);
    expect([0, 4, 5]).toContain(r.best!.index);
  }, 60_000);
});
