// The training advisor against real training runs through the public API (fit with telemetry: true): for
// each finding kind a run that provokes it, and one healthy run (LeNet on MNIST, Adam 1e-3) on which every
// kind stays silent. ReLU records are measured here, not synthesized: every 5 steps the trained weights are
// copied into "head" models that end at each ReLU (plus flatten), and the fraction of exact zeros in their
// model.predict(…, { logits: true }) over 64 fixed training images is that ReLU's deadFraction.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../examples/mnist-data.js';
import { LENET, normalize } from '../examples/mnist-demo-model.js';
import type { Engine, LayerSpec, OptimizerConfig, Sequential } from '../ts/src/index.js';
import type { Optimizer } from '../ts/src/optim/optimizer.js';
import { Advisor, FINDING_KINDS, type Finding, type FindingKind, type StepRecord } from '../ts/src/train/advisor.js';
import { engine } from './helpers.js';

const mnist = loadMnist(1, 4000, 100);
const X = normalize(mnist.trainImages);
const Y = mnist.trainLabels;
const take = (n: number) => ({ x: X.subarray(0, n * 784), y: Y.subarray(0, n) });
const PROBE = X.slice(0, 64 * 784);

/** A multilayer perceptron on flattened digits: `depth` × (dense `units` → relu) → dense 10. */
const mlp = (depth: number, units: number): LayerSpec[] => [
  { type: 'flatten' },
  ...Array.from({ length: depth }, (): LayerSpec[] => [{ type: 'dense', units }, { type: 'relu' }]).flat(),
  { type: 'dense', units: 10 },
];

interface Run {
  records: StepRecord[];
  findings: Finding[];
}

/** Trains through fit with telemetry, recording one StepRecord per step (steps numbered across fits). */
class Recorder {
  readonly records: StepRecord[] = [];
  readonly #heads: { layer: string; model: Sequential }[] = [];
  constructor(readonly model: Sequential, e: Engine, spec: LayerSpec[], relu: boolean) {
    if (relu) {
      spec.forEach((l, i) => {
        if (l.type === 'relu') {
          this.#heads.push({ layer: String(i), model: e.sequential({ inputShape: [1, 28, 28], layers: [...spec.slice(0, i + 1), { type: 'flatten' }] }) });
        }
      });
    }
  }
  async #deadFractions(): Promise<{ layer: string; deadFraction: number }[]> {
    const w = this.model.getWeights();
    const out = [];
    for (const { layer, model } of this.#heads) {
      const mine = model.getWeights();
      model.setWeights(Object.fromEntries(Object.keys(mine).map((k) => [k, w[k]])));
      const a = await model.predict(PROBE, { logits: true });
      let zeros = 0;
      for (const v of a) if (v === 0) zeros++;
      out.push({ layer, deadFraction: zeros / a.length });
    }
    return out;
  }
  async fit(n: number, optimizer: OptimizerConfig | Optimizer, epochs = 1, seed = 1): Promise<void> {
    const { x, y } = take(n);
    await this.model.fit(x, y, {
      epochs, batchSize: 32, optimizer, seed, telemetry: true, divergence: false, onNonFinite: 'restore',
      callbacks: {
        onBatchEnd: async (b) => {
          const step = this.records.length + 1;
          const r: StepRecord = { epoch: b.epoch, step, loss: b.loss, lr: b.lr, telemetry: b.telemetry };
          if (this.#heads.length > 0 && step % 5 === 0) r.relu = await this.#deadFractions();
          this.records.push(r);
        },
      },
    });
  }
  dispose(): void {
    for (const h of this.#heads) h.model.dispose();
  }
}

/** Builds a model (weights optionally scaled, biases optionally set), trains it via `train`, advises. */
async function run(
  spec: LayerSpec[], train: (r: Recorder) => Promise<void>, { scale = 1, bias, relu = false }: { scale?: number; bias?: number; relu?: boolean } = {},
): Promise<Run> {
  const e = await engine({ threads: 1 });
  using model = e.sequential({ inputShape: [1, 28, 28], layers: spec, init: 'pytorch', seed: 1 });
  if (scale !== 1 || bias !== undefined) {
    const w = model.getWeights();
    for (const [k, v] of Object.entries(w)) {
      if (k.endsWith('.weight')) v.forEach((q, i) => (v[i] = q * scale));
      if (bias !== undefined && k.endsWith('.bias')) v.fill(bias);
    }
    model.setWeights(w);
  }
  const rec = new Recorder(model, e, spec, relu);
  try {
    await train(rec);
  } finally {
    rec.dispose();
  }
  return { records: rec.records, findings: advise(rec.records) };
}

function advise(records: readonly StepRecord[]): Finding[] {
  const a = new Advisor();
  for (const r of records) a.observe(r);
  return a.findings();
}

const of = (f: Finding[], kind: FindingKind) => f.filter((x) => x.kind === kind);
const show = (what: string, f: Finding[]) =>
  console.log(`${what}: ${f.map((x) => `${x.kind}${x.layer ? ` ${x.layer}` : ''} @${x.step} ${JSON.stringify(x.evidence)}`).join('\n  ')}`);

describe('advisor on a healthy run (LeNet, MNIST 4000 digits × 2 epochs, Adam 1e-3, batch 32)', () => {
  let healthy: Run;
  beforeAll(async () => {
    healthy = await run(LENET as LayerSpec[], (r) => r.fit(4000, { type: 'adam', lr: 1e-3 }, 2), { relu: true });
  }, 60_000);

  it('trained (the run is a real one) and saw every input the advisor reads', () => {
    expect(healthy.records.length).toBe(250);
    expect(healthy.records.at(-1)!.loss).toBeLessThan(0.6);
    expect(healthy.records[0].telemetry!.map((t) => t.layer)).toEqual(['0', '3', '7']);
    expect(healthy.records.filter((r) => r.relu).length).toBe(50);
    expect(healthy.records[4].relu!.map((r) => r.layer)).toEqual(['1', '4']);
  });

  for (const kind of FINDING_KINDS) {
    it(`${kind}: silent`, () => {
      expect(of(healthy.findings, kind)).toEqual([]);
    });
  }
});

describe('advisor: each finding kind provoked by a real run', () => {
  it('updateRatio: Adam at lr 1e-7 moves every layer by ~1e-6 of its norm a step', async () => {
    const { findings } = await run(LENET as LayerSpec[], (r) => r.fit(1000, { type: 'adam', lr: 1e-7 }));
    show('updateRatio (lr 1e-7)', findings);
    const f = of(findings, 'updateRatio');
    expect(f.map((x) => x.layer)).toEqual(['0', '3', '7']);
    for (const x of f) {
      expect(x.step).toBe(20); // the first full 20-step window
      expect(x.evidence.medianUpdateRatio).toBeLessThan(1e-5);
      expect(x.evidence.medianUpdateRatio).toBeGreaterThan(1e-7);
      expect(x.message).toMatch(/far below the ~1e-3 rule of thumb/);
      expect(x.suggestion).toMatch(/too low/);
    }
  });

  it('lossSpike: after 2 healthy epochs, 10 steps at lr 0.05 (same Adam state) jump the loss', async () => {
    const e = await engine({ threads: 1 });
    let opt: Optimizer | undefined;
    const { findings, records } = await run(LENET as LayerSpec[], async (r) => {
      opt = e.optimizer({ type: 'adam', lr: 1e-3 }, r.model);
      await r.fit(2000, opt, 2);
      opt.lr = 0.05;
      await r.fit(320, opt, 1, 2);
      opt.lr = 1e-3;
      await r.fit(320, opt, 1, 3);
    });
    opt!.dispose();
    show('lossSpike (lr 1e-3 → 0.05 from step 127)', findings);
    const f = of(findings, 'lossSpike');
    expect(f.length).toBeGreaterThanOrEqual(1);
    // A step's loss is taken before its update: step 128's is the first after an update at 0.05.
    expect([records[125].lr, records[126].lr]).toEqual([1e-3, 0.05]);
    expect(f[0].step).toBe(128);
    expect(f[0].evidence.ratio).toBeGreaterThan(5);
    expect(f[0].evidence.z).toBeGreaterThan(10);
  });

  it('divergence: momentum SGD at lr 0.5 on an MLP drives the smoothed loss past 4× its minimum', async () => {
    const { findings } = await run(mlp(2, 64), (r) => r.fit(2000, { type: 'sgd', lr: 0.5, momentum: 0.9 }));
    show('divergence (SGD 0.5, momentum 0.9)', findings);
    const f = of(findings, 'divergence');
    expect(f.length).toBeGreaterThanOrEqual(1);
    expect(f[0].evidence.smoothedLoss).toBeGreaterThan(4 * f[0].evidence.minLoss);
    expect(f[0].step).toBeGreaterThanOrEqual(10); // fastai's rule waits 10 steps for a minimum
  });

  it('vanishingGradients: 8 dense+relu layers at 1/20 of PyTorch init scale', async () => {
    const { findings } = await run(mlp(8, 32), (r) => r.fit(320, { type: 'adam', lr: 1e-3 }), { scale: 0.05 });
    show('vanishingGradients (8 layers, init × 0.05)', findings);
    const f = of(findings, 'vanishingGradients');
    const first = f.find((x) => x.layer === '1')!;
    expect(first.step).toBe(3); // patience 3
    expect(first.evidence.ratio).toBeLessThan(1e-8);
    expect(f.map((x) => x.layer)).toContain('3');
    expect(f.map((x) => x.layer)).not.toContain('17'); // the output layer has the largest gradient
  });

  it('explodingGradients: 3 dense+relu layers at 20× PyTorch init scale', async () => {
    const { findings } = await run(mlp(3, 64), (r) => r.fit(320, { type: 'sgd', lr: 1e-6 }), { scale: 20 });
    show('explodingGradients (3 layers, init × 20)', findings);
    const f = of(findings, 'explodingGradients');
    expect(f.map((x) => x.layer)).toEqual(['1', '3', '5', '7']);
    for (const x of f) {
      expect(x.step).toBe(3);
      expect(x.evidence.gradNorm).toBeGreaterThan(1e3);
    }
  });

  it('deadRelu: LeNet with every bias at −5 (measured zero fractions)', async () => {
    const { findings, records } = await run(LENET as LayerSpec[], (r) => r.fit(640, { type: 'adam', lr: 1e-3 }), { bias: -5, relu: true });
    show('deadRelu (biases −5)', findings);
    const f = of(findings, 'deadRelu');
    expect(f.map((x) => x.layer)).toEqual(['1', '4']);
    for (const x of f) {
      expect(x.step).toBe(15); // the third record (every 5 steps)
      expect(x.evidence.deadFraction).toBeGreaterThan(0.9);
    }
    expect(records[4].relu!.every((r) => r.deadFraction === 1)).toBe(true);
    // Their conv layers do not move at all: said as a zero gradient, not as a rate too low.
    const still = of(findings, 'updateRatio').find((x) => x.layer === '0')!;
    expect(still.evidence.medianUpdateRatio).toBe(0);
    expect(still.suggestion).toMatch(/dead ReLUs/);
  });

  it('warmup: Adam at lr 0.03 from the first step', async () => {
    const { findings, records } = await run(LENET as LayerSpec[], (r) => r.fit(640, { type: 'adam', lr: 0.03 }));
    show('warmup (Adam 0.03)', findings);
    const f = of(findings, 'warmup');
    // Adam's first step is ±lr everywhere: 0.03 moves a layer by more than 30% of its norm at once.
    expect(f.length).toBe(1);
    expect(f[0].step).toBe(1);
    expect(f[0].evidence.maxUpdateRatio).toBeGreaterThan(0.3);
    expect(f[0].suggestion).toMatch(/warmup/);
    // The loss criterion alone (the ratio one out of reach) fires on the same run when the loss jumps.
    const byLoss = new Advisor({ warmup: { updateRatio: 1e9 } });
    for (const r of records) byLoss.observe(r);
    const g = of(byLoss.findings(), 'warmup');
    show('warmup by loss alone', g);
    expect(g.length).toBe(1);
    expect(g[0].step).toBeLessThanOrEqual(5);
    expect(g[0].evidence.rise).toBeGreaterThan(1.5);
  });
});

describe('advisor: behaviour on synthetic records', () => {
  const rows = (g: number[], ratio = 1e-3) => g.map((gradNorm, i) => ({ layer: `l${i}`, gradNorm, updateRatio: ratio }));

  it('one finding per kind and layer while the condition holds; a new one after it clears', () => {
    const a = new Advisor({ explodingGradients: { patience: 2 } });
    const grads = [5e3, 5e3, 5e3, 1, 1, 5e3, 5e3];
    grads.forEach((g, i) => a.observe({ epoch: 0, step: i + 1, loss: 1, lr: 0.1, telemetry: rows([1, g]) }));
    const f = a.findings().filter((x) => x.kind === 'explodingGradients');
    expect(f.map((x) => [x.layer, x.step])).toEqual([['l1', 2], ['l1', 7]]);
  });

  it('returns what each step found, deterministically, as plain data', () => {
    const records: StepRecord[] = Array.from({ length: 60 }, (_, i) => ({
      epoch: 0, step: i + 1, loss: i === 54 ? 50 : 1 + 0.01 * Math.sin(i), lr: 1e-3, telemetry: rows([1, 1e-9], 1e-7),
    }));
    const once = () => {
      const a = new Advisor();
      const perStep = records.map((r) => a.observe(r));
      return { perStep, all: a.findings() };
    };
    const [x, y] = [once(), once()];
    expect(JSON.stringify(x)).toBe(JSON.stringify(y));
    expect(x.perStep.flat()).toEqual(x.all);
    expect(x.all.map((f) => `${f.kind}@${f.step}${f.layer ? `:${f.layer}` : ''}`)).toEqual([
      'vanishingGradients@3:l1', 'updateRatio@20:l0', 'updateRatio@20:l1', 'lossSpike@55',
    ]);
    expect(structuredClone(x.all)).toEqual(x.all);
  });

  it('a non-finite loss is a divergence at once; kinds can be switched off', () => {
    const a = new Advisor({ lossSpike: false });
    a.observe({ epoch: 0, step: 1, loss: 2, lr: 1 });
    expect(a.observe({ epoch: 0, step: 2, loss: NaN, lr: 1 })).toMatchObject([{ kind: 'divergence', step: 2, evidence: { loss: NaN } }]);
    expect(a.observe({ epoch: 0, step: 3, loss: Infinity, lr: 1 })).toEqual([]); // still the same condition
    expect(new Advisor({ divergence: false }).observe({ epoch: 0, step: 1, loss: NaN, lr: 1 })).toEqual([]);
  });

  it('bad options and records are refused with the option named', () => {
    expect(() => new Advisor({ updateRatio: { low: 0 } })).toThrow(/^Advisor: updateRatio\.low must be in \(0, Infinity\], got 0$/);
    expect(() => new Advisor({ updateRatio: { low: 1, high: 0.5 } })).toThrow(/^Advisor: updateRatio\.low must be below updateRatio\.high, got 1 and 0\.5$/);
    expect(() => new Advisor({ deadRelu: { fraction: 1 } })).toThrow(/^Advisor: deadRelu\.fraction must be in \[0, 1\), got 1$/);
    expect(() => new Advisor({ spikes: {} } as never)).toThrow(/^Advisor: unknown option 'spikes'/);
    expect(() => new Advisor({ lossSpike: { windw: 3 } } as never)).toThrow(/^Advisor: lossSpike: unknown option 'windw'/);
    expect(() => new Advisor({ warmup: true } as never)).toThrow(/^Advisor: warmup must be an object of thresholds or false, got true$/);
    const a = new Advisor();
    a.observe({ epoch: 0, step: 5, loss: 1, lr: 1 });
    expect(() => a.observe({ epoch: 0, step: 5, loss: 1, lr: 1 })).toThrow(/^Advisor\.observe: steps must increase, got 5 after 5$/);
    expect(() => a.observe({ epoch: 0, step: 6, loss: '1', lr: 1 } as never)).toThrow(/^Advisor\.observe: loss must be a number, got "1"$/);
  });
});
