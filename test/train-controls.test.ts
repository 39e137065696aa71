// fit's training controls: gradient accumulation, clipping (against the definitions and torch's clip.json),
// schedules, early stopping, per-layer telemetry, and checkpoint/resume (bitwise the same as straight through).
import { describe, expect, it } from 'vitest';
import { checkpointFromJSON, checkpointToJSON, type BatchInfo, type Checkpoint, type LayerSpec } from '../ts/src/index.js';
import { engine } from './helpers.js';

const LAYERS: LayerSpec[] = [
  { type: 'conv2d', filters: 4, kernelSize: 3 },
  { type: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 12 },
  { type: 'relu' },
  { type: 'dense', units: 3 },
];
const SPEC = { inputShape: [1, 8, 8], layers: LAYERS, seed: 7 };
const N = 48;
const X = new Float32Array(N * 64).map((_, i) => Math.sin(i * 0.7) + 0.3 * Math.cos(i * 0.13));
const Y = Array.from({ length: N }, (_, i) => (i * 5) % 3);
const flat = (w: Record<string, Float32Array>) => Object.values(w).flatMap((a) => Array.from(a));
const relClose = (a: number[], b: number[], rtol: number) =>
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(rtol * Math.max(Math.abs(b[i]), 1e-2)));

describe('fit: training controls', () => {
  it('accumulate: k micro-batches give the step of one batch of all their samples', async () => {
    const e = await engine();
    using a = e.sequential(SPEC);
    using b = e.sequential(SPEC);
    // 48 samples: steps of 16 as 16 = 5+5+5+1 micro-batches (unequal sizes are weighted by their share).
    await a.fit(X, Y, { epochs: 2, batchSize: 16, shuffle: false, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 } });
    const seen: number[] = [];
    await b.fit(X, Y, {
      epochs: 2, batchSize: 5, accumulate: 4, shuffle: false, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
      callbacks: { onBatchEnd: (i) => void seen.push(i.size) },
    });
    expect(seen.slice(0, 4)).toEqual([20, 20, 8, 20]);
    // Different batching on purpose: compare with a micro-batch schedule that matches a's 16-sample steps.
    using c = e.sequential(SPEC);
    await c.fit(X, Y, { epochs: 2, batchSize: 4, accumulate: 4, shuffle: false, optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 } });
    // Same mean gradients, summed in another order: float32 rounding only.
    relClose(flat(c.getWeights()), flat(a.getWeights()), 1e-5);
  });

  it('clipNorm and clipValue: the step uses the clipped gradient, as torch defines it', async () => {
    const e = await engine();
    const cases: { clipNorm?: number; clipValue?: number }[] = [{ clipNorm: 0.05 }, { clipValue: 0.01 }, { clipNorm: 1e9 }];
    for (const clip of cases) {
      using m = e.sequential(SPEC);
      const before = m.getWeights();
      const { gradients } = m.lossAndGradients(X, Y);
      const g = flat(gradients);
      const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
      const { clipNorm, clipValue } = clip;
      let want = g.map((v) => (clipValue !== undefined ? Math.min(Math.max(v, -clipValue), clipValue) : v));
      if (clipNorm !== undefined) want = want.map((v) => v * Math.min(1, clipNorm / (norm + 1e-6)));
      const infos: BatchInfo[] = [];
      await m.fit(X, Y, { batchSize: N, shuffle: false, optimizer: { type: 'sgd', lr: 1 }, ...clip, callbacks: { onBatchEnd: (i) => void infos.push(i) } });
      const step = flat(before).map((v, i) => v - flat(m.getWeights())[i]);
      relClose(step, want, 1e-5);
      if (clipNorm !== undefined) expect(infos[0].gradNorm!).toBeCloseTo(norm, 5);
      else expect(infos[0].gradNorm).toBeUndefined();
    }
  });

  it('schedule: the rate of each step follows it (epoch and batch units)', async () => {
    const e = await engine();
    using m = e.sequential(SPEC);
    const lrs: number[] = [];
    const epochLrs: number[] = [];
    await m.fit(X, Y, {
      epochs: 4, batchSize: 24, optimizer: { type: 'adam', lr: 0.01 }, schedule: { type: 'step', stepSize: 2, gamma: 0.5 },
      callbacks: { onBatchEnd: (i) => void lrs.push(i.lr), onEpochEnd: (i) => void epochLrs.push(i.lr) },
    });
    expect(lrs).toEqual([0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.005]);
    const batchLrs: number[] = [];
    await m.fit(X, Y, {
      epochs: 2, batchSize: 24, optimizer: { type: 'adam', lr: 0.01 }, schedule: { type: 'exponential', gamma: 0.5, every: 'batch' },
      callbacks: { onBatchEnd: (i) => void batchLrs.push(i.lr) },
    });
    expect(batchLrs).toEqual([0.01, 0.005, 0.0025, 0.00125]);
  });

  it('early stopping: stops after patience epochs without improvement and restores the best weights', async () => {
    const e = await engine();
    using m = e.sequential(SPEC);
    // lr 0 and a fixed order: the epoch loss is the same every epoch, so it never improves after epoch 0.
    const h = await m.fit(X, Y, {
      epochs: 30, batchSize: 8, shuffle: false, optimizer: { type: 'sgd', lr: 0 }, earlyStopping: { monitor: 'loss', patience: 2 },
    });
    expect(h.stoppedEarly).toBe(true);
    expect(h.epochs.length).toBe(3);
    expect(h.bestEpoch).toBe(0);
    // Training that keeps changing the weights but never improves by minDelta: the epoch-0 weights come back.
    const opts = { batchSize: 8, shuffle: false, optimizer: { type: 'sgd', lr: 0.05 } as const };
    using one = e.sequential(SPEC);
    await one.fit(X, Y, { ...opts, epochs: 1 });
    using best = e.sequential(SPEC);
    const hb = await best.fit(X, Y, { ...opts, epochs: 10, earlyStopping: { monitor: 'loss', patience: 3, minDelta: 1e9, restoreBest: true } });
    expect(hb.epochs.length).toBe(4);
    expect(flat(best.getWeights())).toEqual(flat(one.getWeights()));
    await expect(m.fit(X, Y, { earlyStopping: { monitor: 'valLoss' } })).rejects.toThrow(/needs validationData/);
  });

  it('telemetry: per-layer norms, update ratio and step statistics match the definitions (SGD)', async () => {
    const e = await engine();
    using m = e.sequential(SPEC);
    const before = m.getWeights();
    const { gradients } = m.lossAndGradients(X, Y);
    let t: BatchInfo['telemetry'];
    await m.fit(X, Y, { batchSize: N, shuffle: false, telemetry: true, optimizer: { type: 'sgd', lr: 0.5 }, callbacks: { onBatchEnd: (i) => void (t = i.telemetry) } });
    const after = m.getWeights();
    expect(t!.map((l) => l.layer)).toEqual(['0', '4', '6']);
    for (const l of t!) {
      const names = Object.keys(after).filter((k) => k.startsWith(`${l.layer}.`));
      const g = names.flatMap((k) => Array.from(gradients[k]));
      const w = names.flatMap((k) => Array.from(after[k]));
      const d = names.flatMap((k) => Array.from(after[k]).map((v, i) => v - before[k][i]));
      const norm = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
      expect(l.gradNorm).toBeCloseTo(norm(g), 6);
      expect(l.weightNorm).toBeCloseTo(norm(w), 6);
      expect(l.updateNorm).toBeCloseTo(norm(d), 6);
      expect(l.updateRatio).toBeCloseTo(norm(d) / norm(w), 6);
      const abs = d.map(Math.abs);
      expect(l.step.max).toBeCloseTo(Math.max(...abs), 7);
      expect(l.step.min).toBeCloseTo(Math.min(...abs), 7);
      expect(l.step.mean).toBeCloseTo(abs.reduce((a, b) => a + b, 0) / abs.length, 7);
    }
  });

  it('checkpoint and resume: bitwise the weights of training straight through (Adam, cosine schedule, shuffling)', async () => {
    const e = await engine();
    const opts = { epochs: 5, batchSize: 10, seed: 3, optimizer: { type: 'adam', lr: 0.01, amsgrad: true } as const, schedule: { type: 'cosine', tMax: 5 } as const };
    using straight = e.sequential(SPEC);
    const saved: string[] = [];
    await straight.fit(X, Y, { ...opts, checkpoint: { every: 2, save: (c) => void saved.push(checkpointToJSON(c)) } });
    expect(saved.length).toBe(3); // after epochs 2, 4 and the last
    const ck: Checkpoint = checkpointFromJSON(saved[0]);
    expect(ck.epoch).toBe(2);
    using resumed = e.sequential({ ...SPEC, seed: 99 }); // different initial weights: the checkpoint replaces them
    const h = await resumed.fit(X, Y, { ...opts, resume: ck });
    expect(h.epochs.map((i) => i.epoch)).toEqual([2, 3, 4]);
    expect(flat(resumed.getWeights())).toEqual(flat(straight.getWeights()));
  });

  it('resume refuses a checkpoint of another model before changing anything', async () => {
    const e = await engine();
    using a = e.sequential(SPEC);
    let ck: Checkpoint | undefined;
    await a.fit(X, Y, { batchSize: 16, checkpoint: { save: (c) => void (ck = c) } });
    using other = e.sequential({ ...SPEC, layers: [{ type: 'flatten' }, { type: 'dense', units: 3 }] });
    const w = flat(other.getWeights());
    const live = e.liveBytes();
    await expect(other.fit(X, Y, { resume: ck })).rejects.toThrow(/not this model's architecture/);
    expect(flat(other.getWeights())).toEqual(w);
    expect(e.liveBytes()).toBe(live);
    // A non-finite weight is refused before the caller's optimizer is restored from the checkpoint.
    using opt = e.optimizer('adam', a);
    const nan = { ...ck!, model: { ...ck!.model, weights: { ...ck!.model.weights!, '6.bias': [NaN, 0, 0] } } };
    await expect(a.fit(X, Y, { optimizer: opt, resume: nan })).rejects.toThrow(/fit: resume: weights: '6.bias' must be finite in float32, element 0 is NaN/);
    expect(opt.steps).toBe(0);
  });

  it('bad options are refused with clear errors', async () => {
    const e = await engine();
    using m = e.sequential(SPEC);
    await expect(m.fit(X, Y, { accumulate: 0 })).rejects.toThrow(/accumulate must be in \[1, ∞\], got 0/);
    await expect(m.fit(X, Y, { clipNorm: -1 })).rejects.toThrow(/clipNorm must be in \(0, Infinity\], got -1/);
    await expect(m.fit(X, Y, { telemetry: 'yes' as never })).rejects.toThrow(/telemetry/);
    await expect(m.fit(X, Y, { schedule: { type: 'nope' } as never })).rejects.toThrow(/nope/);
  });
});
