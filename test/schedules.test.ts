// Learning-rate schedules against torch.optim.lr_scheduler 1.13 (test/golden/schedules.json, made by
// test/golden/generate.py), their save/load and validation; EarlyStopping's Keras semantics.
import { describe, expect, it } from 'vitest';
import { EarlyStopping } from '../ts/src/train/early-stopping.js';
import { createSchedule, type Schedule, type ScheduleConfig } from '../ts/src/train/schedules.js';
import { expectClose, golden } from './helpers.js';

interface Case {
  name: string;
  scheduler: string;
  baseLr: number;
  args: Record<string, any>;
  epochs: number;
  metrics?: number[];
  lr: number[];
  momentum?: number[];
}

const { cases } = golden<{ cases: Case[] }>('schedules.json');

/** The ScheduleConfig that reproduces a golden case's torch scheduler; throws on one we do not map. */
function configOf(c: Case): ScheduleConfig {
  const a = c.args;
  switch (c.scheduler) {
    case 'StepLR':
      return { type: 'step', stepSize: a.stepSize, gamma: a.gamma };
    case 'MultiStepLR':
      return { type: 'multiStep', milestones: a.milestones, gamma: a.gamma };
    case 'ExponentialLR':
      return { type: 'exponential', gamma: a.gamma };
    case 'CosineAnnealingLR':
      return { type: 'cosine', tMax: a.tMax, etaMin: a.etaMin };
    case 'SequentialLR': {
      // Our cosine warm-up is exactly SequentialLR([LinearLR(s, 1, warmup), CosineAnnealingLR], [warmup]).
      const [lin, cos] = a.schedulers;
      expect([lin.scheduler, lin.endFactor, cos.scheduler, a.milestones]).toEqual(['LinearLR', 1, 'CosineAnnealingLR', [lin.totalIters]]);
      return { type: 'cosine', tMax: cos.tMax, etaMin: cos.etaMin, warmup: lin.totalIters, warmupStartFactor: lin.startFactor };
    }
    case 'OneCycleLR':
      // cycleMomentum / baseMomentum / maxMomentum are not mapped: our schedules set the learning rate only and
      // do not cycle momentum, so the case's recorded "momentum" column is not checked.
      return {
        type: 'oneCycle',
        maxLr: a.maxLr,
        totalSteps: a.totalSteps,
        pctStart: a.pctStart,
        annealStrategy: a.annealStrategy,
        divFactor: a.divFactor,
        finalDivFactor: a.finalDivFactor,
        threePhase: a.threePhase,
      };
    case 'ReduceLROnPlateau':
      return { type: 'reduceOnPlateau', ...a } as ScheduleConfig;
  }
  throw new Error(`${c.name}: no mapping for torch's ${c.scheduler}`);
}

/** The rates in effect during steps 0..n−1 (step(metric) after each, as the generator calls torch). */
function run(s: Schedule, n: number, metrics?: number[], from = 0): number[] {
  const lrs: number[] = [];
  for (let e = from; e < n; e++) {
    lrs.push(s.lr());
    if (e < n - 1) s.step(metrics?.[e]);
  }
  return lrs;
}

// |ours − torch| ≤ 1e-9·|torch|. Both sides are float64 and evaluate the same formulas in the same order; the
// only difference is cos (V8's fdlibm port vs glibc), at most an ulp per call, carried through at most 60 steps
// of torch's recursive form — observed errors are ~1e-15. 1e-9 leaves that margin while any off-by-one step or
// wrong branch shows up as 1e-3 or more. The floor of 1e-300 only avoids 0/0 where torch gives exactly 0 (the
// bottom of a cosine with etaMin 0), where we must give 0 too.
const RTOL = 1e-9;
const FLOOR = 1e-300;

describe('schedules match torch.optim.lr_scheduler 1.13', () => {
  it('covers every schedule type', () => {
    const types = new Set(cases.map((c) => configOf(c).type));
    expect([...types].sort()).toEqual(['cosine', 'exponential', 'multiStep', 'oneCycle', 'reduceOnPlateau', 'step']);
  });

  for (const c of cases) {
    it(`${c.name} (${c.scheduler}, ${c.epochs} epochs)`, () => {
      const s = createSchedule(configOf(c), c.baseLr);
      const worst = expectClose(run(s, c.epochs, c.metrics), c.lr, RTOL, FLOOR, c.name);
      expect(s.steps).toBe(c.epochs - 1);
      console.log(`${c.name}: max relative error ${worst.toExponential(2)} over ${c.epochs} epochs`);
    });

    it(`${c.name}: saved at every step and resumed, gives the same rates as never stopping`, () => {
      const cfg = configOf(c);
      const straight = run(createSchedule(cfg, c.baseLr), c.epochs, c.metrics);
      for (const at of [0, 1, 7, 20, c.epochs - 1]) {
        const first = createSchedule(cfg, c.baseLr);
        const head = run(first, at + 1, c.metrics); // rates 0..at, then stepped `at` times
        const saved = JSON.parse(JSON.stringify(first.saveState()));
        const resumed = createSchedule(cfg, c.baseLr);
        resumed.loadState(saved);
        expect(resumed.steps).toBe(at);
        const tail = run(resumed, c.epochs, c.metrics, at);
        expect([...head.slice(0, at), ...tail]).toEqual(straight); // bitwise
      }
    });
  }
});

describe('schedule semantics beyond the golden cases', () => {
  it('a cosine run past tMax follows torch\'s recursion back up (period 2·tMax)', () => {
    const s = createSchedule({ type: 'cosine', tMax: 4 }, 1);
    const lrs = run(s, 17);
    for (let e = 0; e <= 16; e++) expect(lrs[e]).toBeCloseTo(lrs[e % 8 <= 4 ? e % 8 : 8 - (e % 8)], 12);
    expect(lrs[4]).toBe(0);
    expect(lrs[8]).toBeCloseTo(1, 12);
  });

  it('oneCycle ignores baseLr, starts at maxLr/divFactor, and refuses to step past totalSteps', () => {
    const s = createSchedule({ type: 'oneCycle', maxLr: 0.5, totalSteps: 10, divFactor: 10 }, 123);
    expect(s.config.every).toBe('batch');
    expect(s.lr()).toBeCloseTo(0.05, 15);
    for (let i = 0; i < 10; i++) s.step();
    expect(() => s.step()).toThrow(/oneCycle schedule: step\(\) called 11 times, but totalSteps is 10/);
    expect(s.steps).toBe(10); // unchanged by the refused step
  });

  it('three-phase oneCycle rises, falls back to the initial rate, then anneals to the final one', () => {
    const s = createSchedule({ type: 'oneCycle', maxLr: 1, totalSteps: 20, pctStart: 0.25, divFactor: 4, finalDivFactor: 100, threePhase: true, annealStrategy: 'linear' }, 0);
    const lrs = run(s, 20);
    expect(lrs[0]).toBe(0.25);
    expect(lrs[4]).toBe(1); // end of phase 1: 0.25·20 − 1
    expect(lrs[8]).toBe(0.25); // end of phase 2: 2·0.25·20 − 2
    expect(lrs[19]).toBeCloseTo(0.0025, 15);
  });

  it('config holds every default filled in', () => {
    expect(createSchedule({ type: 'cosine', tMax: 5 }, 0.1).config).toEqual({ type: 'cosine', every: 'epoch', tMax: 5, etaMin: 0, warmup: 0, warmupStartFactor: 1 / 3 });
    expect(createSchedule({ type: 'reduceOnPlateau' }, 0.1).config).toEqual({
      type: 'reduceOnPlateau', every: 'epoch', mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8,
    });
  });

  it('reduceOnPlateau without a metric throws and changes nothing; other schedules ignore a metric', () => {
    const s = createSchedule({ type: 'reduceOnPlateau', patience: 0 }, 0.1);
    expect(() => s.step()).toThrow(TypeError);
    expect(() => s.step()).toThrow(/reduceOnPlateau schedule: step\(\) needs the monitored metric \(e\.g\. the validation loss\), got undefined/);
    expect(s.steps).toBe(0);
    s.step(1);
    s.step(NaN); // never an improvement: a bad step, reduced at once with patience 0
    expect(s.lr()).toBeCloseTo(0.01, 15);
    const t = createSchedule({ type: 'exponential', gamma: 0.5 }, 1);
    t.step(42);
    expect(t.lr()).toBe(0.5);
  });

  it('reduceOnPlateau in max mode with an absolute threshold', () => {
    const s = createSchedule({ type: 'reduceOnPlateau', mode: 'max', thresholdMode: 'abs', threshold: 0.1, patience: 1, factor: 0.5 }, 1);
    // 0.5 best; 0.55 not > 0.6; 0.58 not → 2 bad > patience 1 → halve; 0.7 improves.
    for (const m of [0.5, 0.55, 0.58, 0.7]) s.step(m);
    expect(s.lr()).toBe(0.5);
    expect(s.saveState().plateau).toEqual({ best: 0.7, badEpochs: 0, cooldownCounter: 0 });
  });
});

describe('schedule options are validated with messages naming the schedule and option', () => {
  const bad: [string, unknown, RegExp, typeof TypeError | typeof RangeError][] = [
    ['not an object', 3, /schedule: expected a config object like \{ type: 'cosine', tMax: 50 \}, got 3/, TypeError],
    ['unknown type', { type: 'cyclic' }, /schedule: unknown type "cyclic" \(known: step, multiStep, exponential, cosine, oneCycle, reduceOnPlateau\)/, TypeError],
    ['unknown option', { type: 'cosine', tMax: 5, t_max: 5 }, /cosine schedule: unknown option 't_max' \(known: type, every, tMax, etaMin, warmup, warmupStartFactor\)/, TypeError],
    ['bad every', { type: 'step', stepSize: 2, every: 'step' }, /step schedule: every must be one of 'epoch', 'batch', got "step"/, TypeError],
    ['stepSize missing', { type: 'step' }, /step schedule: stepSize must be an integer, got undefined/, TypeError],
    ['stepSize 0', { type: 'step', stepSize: 0 }, /step schedule: stepSize must be in \[1, ∞\], got 0/, RangeError],
    ['gamma 0', { type: 'step', stepSize: 3, gamma: 0 }, /step schedule: gamma must be in \(0, Infinity\], got 0/, RangeError],
    ['milestones not an array', { type: 'multiStep', milestones: 5 }, /multiStep schedule: milestones must be an array of step counts, got 5/, TypeError],
    ['milestone 0', { type: 'multiStep', milestones: [0, 3] }, /multiStep schedule: milestones\[0\] must be in \[1, ∞\], got 0/, RangeError],
    ['milestones unsorted', { type: 'multiStep', milestones: [30, 15] }, /multiStep schedule: milestones must be strictly increasing, got \[30, 15\]/, RangeError],
    ['exponential without gamma', { type: 'exponential' }, /exponential schedule: gamma must be a finite number, got undefined/, TypeError],
    ['tMax fractional', { type: 'cosine', tMax: 2.5 }, /cosine schedule: tMax must be an integer, got 2.5/, TypeError],
    ['negative etaMin', { type: 'cosine', tMax: 5, etaMin: -1 }, /cosine schedule: etaMin must be in \[0, Infinity\], got -1/, RangeError],
    ['warmup negative', { type: 'cosine', tMax: 5, warmup: -1 }, /cosine schedule: warmup must be in \[0, ∞\], got -1/, RangeError],
    ['warmupStartFactor 0', { type: 'cosine', tMax: 5, warmup: 2, warmupStartFactor: 0 }, /cosine schedule: warmupStartFactor must be in \(0, 1\], got 0/, RangeError],
    ['maxLr missing', { type: 'oneCycle', totalSteps: 10 }, /oneCycle schedule: maxLr must be a finite number, got undefined/, TypeError],
    ['totalSteps 0', { type: 'oneCycle', maxLr: 0.1, totalSteps: 0 }, /oneCycle schedule: totalSteps must be in \[1, ∞\], got 0/, RangeError],
    ['pctStart above 1', { type: 'oneCycle', maxLr: 0.1, totalSteps: 10, pctStart: 1.5 }, /oneCycle schedule: pctStart must be in \[0, 1\], got 1.5/, RangeError],
    ['empty phase', { type: 'oneCycle', maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }, /oneCycle schedule: pctStart 0.1 × totalSteps 10 leaves phase 1 empty \(phase ends at steps \[0, 9\]/, RangeError],
    ['bad annealStrategy', { type: 'oneCycle', maxLr: 0.1, totalSteps: 10, annealStrategy: 'cosine' }, /oneCycle schedule: annealStrategy must be one of 'cos', 'linear', got "cosine"/, TypeError],
    ['threePhase not boolean', { type: 'oneCycle', maxLr: 0.1, totalSteps: 10, threePhase: 1 }, /oneCycle schedule: threePhase must be a boolean, got 1/, TypeError],
    ['factor 1', { type: 'reduceOnPlateau', factor: 1 }, /reduceOnPlateau schedule: factor must be in \(0, 1\), got 1/, RangeError],
    ['bad mode', { type: 'reduceOnPlateau', mode: 'minimize' }, /reduceOnPlateau schedule: mode must be one of 'min', 'max', got "minimize"/, TypeError],
    ['rel threshold 1', { type: 'reduceOnPlateau', threshold: 1 }, /reduceOnPlateau schedule: threshold must be in \[0, 1\), got 1/, RangeError],
    ['patience fractional', { type: 'reduceOnPlateau', patience: 1.5 }, /reduceOnPlateau schedule: patience must be an integer, got 1.5/, TypeError],
  ];
  for (const [what, cfg, msg, type] of bad) {
    it(what, () => {
      expect(() => createSchedule(cfg as ScheduleConfig, 0.1)).toThrow(type);
      expect(() => createSchedule(cfg as ScheduleConfig, 0.1)).toThrow(msg);
    });
  }

  it('a negative or non-finite baseLr (oneCycle ignores it)', () => {
    expect(() => createSchedule({ type: 'step', stepSize: 1 }, -0.1)).toThrow(/step schedule: baseLr must be in \[0, Infinity\], got -0.1/);
    expect(() => createSchedule({ type: 'cosine', tMax: 1 }, NaN)).toThrow(/cosine schedule: baseLr must be a finite number, got NaN/);
    expect(createSchedule({ type: 'oneCycle', maxLr: 1, totalSteps: 10 }, NaN).lr()).toBeCloseTo(0.04, 15);
  });
});

describe('loadState validates before changing anything', () => {
  const cfg: ScheduleConfig = { type: 'reduceOnPlateau', patience: 2, cooldown: 1 };
  const fresh = () => {
    const s = createSchedule(cfg, 0.1);
    s.step(1);
    return s;
  };
  const good = () => fresh().saveState();
  const bad: [string, (s: ReturnType<typeof good>) => unknown, RegExp][] = [
    ['not an object', () => null, /reduceOnPlateau schedule: loadState: expected a saved schedule state, got null/],
    ['another type', (s) => ({ ...s, type: 'step' }), /loadState: the state is of a "step" schedule, this one is 'reduceOnPlateau'/],
    ['another config', (s) => ({ ...s, config: { ...s.config, patience: 5 } }), /loadState: the state was saved with patience 5, this schedule has 2/],
    ['another baseLr', (s) => ({ ...s, baseLr: 0.2 }), /loadState: the state was saved with baseLr 0.2, this schedule has 0.1/],
    ['steps negative', (s) => ({ ...s, steps: -1 }), /loadState: steps must be in \[0, ∞\], got -1/],
    ['lr not finite', (s) => ({ ...s, lr: null }), /loadState: lr must be a finite number, got null/],
    ['plateau missing', (s) => ({ ...s, plateau: undefined }), /loadState: plateau must be \{ best, badEpochs, cooldownCounter \}, got undefined/],
    ['bad epochs over patience', (s) => ({ ...s, plateau: { ...s.plateau, badEpochs: 3 } }), /loadState: plateau.badEpochs must be in \[0, 2\], got 3/],
    ['cooldown over cooldown', (s) => ({ ...s, plateau: { ...s.plateau, cooldownCounter: 2 } }), /loadState: plateau.cooldownCounter must be in \[0, 1\], got 2/],
  ];
  for (const [what, edit, msg] of bad) {
    it(what, () => {
      const s = fresh();
      const before = s.saveState();
      expect(() => s.loadState(edit(good()) as never)).toThrow(msg);
      expect(s.saveState()).toEqual(before);
    });
  }

  it('a oneCycle state past totalSteps', () => {
    const s = createSchedule({ type: 'oneCycle', maxLr: 1, totalSteps: 10 }, 0);
    expect(() => s.loadState({ ...s.saveState(), steps: 11 })).toThrow(/oneCycle schedule: loadState: steps must be in \[0, 10\], got 11/);
  });
});

describe('EarlyStopping (Keras semantics)', () => {
  const verdicts = (es: EarlyStopping, values: number[]) => values.map((v, e) => es.update(v, e));

  it('patience 0 stops at the first epoch without improvement; equal is not better', () => {
    const es = new EarlyStopping({ monitor: 'loss' });
    expect(verdicts(es, [1, 0.9, 0.8, 0.8])).toEqual(['improved', 'improved', 'improved', 'stop']);
    expect([es.best, es.bestEpoch]).toEqual([0.8, 2]);
  });

  it('patience 2 waits two epochs; an improvement resets the wait', () => {
    const es = new EarlyStopping({ patience: 2 });
    expect(verdicts(es, [1, 1.1, 0.9, 1.0, 0.95, 0.99])).toEqual(['improved', 'wait', 'improved', 'wait', 'stop', 'stop']);
    expect([es.best, es.bestEpoch, es.wait]).toEqual([0.9, 2, 3]);
  });

  it('minDelta: an improvement must beat the best by more than minDelta', () => {
    const es = new EarlyStopping({ patience: 1, minDelta: 0.5 });
    // From 1: 0.5 is better by exactly minDelta (no), 0.25 by 0.75 (yes); from 0.25: 0 by 0.25 (no).
    expect(verdicts(es, [1, 0.5, 0.25, 0])).toEqual(['improved', 'stop', 'improved', 'stop']);
    expect([es.best, es.bestEpoch]).toEqual([0.25, 2]);
  });

  it('mode max (the default for valAccuracy)', () => {
    const es = new EarlyStopping({ monitor: 'valAccuracy', patience: 1, minDelta: 0.01 });
    expect(es.mode).toBe('max');
    expect(es.best).toBe(-Infinity);
    expect(verdicts(es, [0.5, 0.6, 0.605, 0.7, 0.7])).toEqual(['improved', 'improved', 'stop', 'improved', 'stop']);
    expect([es.best, es.bestEpoch]).toEqual([0.7, 3]);
  });

  it('NaN never improves and nothing stops at epoch 0', () => {
    const es = new EarlyStopping({ monitor: 'loss' });
    expect(es.update(NaN, 0)).toBe('wait');
    expect(es.update(NaN, 1)).toBe('stop');
    expect(es.bestEpoch).toBe(-1);
  });

  it('saveState / loadState continue the same verdicts', () => {
    const values = [1, 0.9, 0.95, 0.85, 0.9, 0.91, 0.92];
    const straight = verdicts(new EarlyStopping({ patience: 3 }), values);
    const a = new EarlyStopping({ patience: 3 });
    const head = values.slice(0, 5).map((v, e) => a.update(v, e));
    const b = new EarlyStopping({ patience: 3 });
    b.loadState(JSON.parse(JSON.stringify(a.saveState())));
    const tail = values.slice(5).map((v, i) => b.update(v, i + 5));
    expect([...head, ...tail]).toEqual(straight);
    expect(b.bestEpoch).toBe(3);
  });

  it('bad options and states are rejected with clear messages', () => {
    expect(() => new EarlyStopping({ monitor: 'accuracy' as never })).toThrow(/earlyStopping: monitor must be one of 'valLoss', 'loss', 'valAccuracy', got "accuracy"/);
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/earlyStopping: patience must be in \[0, ∞\], got -1/);
    expect(() => new EarlyStopping({ minDelta: -0.1 })).toThrow(/earlyStopping: minDelta must be in \[0, Infinity\], got -0.1/);
    expect(() => new EarlyStopping({ restore: true } as never)).toThrow(/earlyStopping: unknown option 'restore'/);
    const es = new EarlyStopping();
    expect(() => es.update(0.5, 1.5)).toThrow(/earlyStopping: epoch must be an integer, got 1.5/);
    expect(() => es.loadState({ monitor: 'loss', mode: 'min', best: null, bestEpoch: -1, wait: 0 })).toThrow(
      /earlyStopping: loadState: the state watches "loss" \("min"\), this instance 'valLoss' \('min'\)/,
    );
    expect(() => es.loadState({ monitor: 'valLoss', mode: 'min', best: null, bestEpoch: 2, wait: 0 })).toThrow(/best is null with bestEpoch 2/);
  });
});
