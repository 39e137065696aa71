// The optimizer API around the kernels: presets and defaults, option validation (before any allocation),
// parameter groups over a model's tensors, the delta output, and saveState/loadState continuing bitwise.
import { describe, expect, it } from 'vitest';
import type { Engine, F32Buffer, Optimizer, OptimizerConfig, OptimizerState, Sequential } from '../ts/src/index.js';
import { createOptimizer } from '../ts/src/optim/index.js';
import { engine, noise } from './helpers.js';

/** Tensors of 54, 3, 135 and 5 floats: every one followed by alignment padding. */
function model(e: Engine): Sequential {
  return e.sequential({
    inputShape: [2, 5, 5],
    layers: [{ type: 'conv2d', filters: 3, kernelSize: 3 }, { type: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 5 }],
    seed: 3,
  });
}

/** Gradients for step `t`: noise in every float, padding included (the optimizer must not touch padding). */
const grads = (n: number, t: number) => noise(n, 1000 + t);

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
function expectBitwise(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, what).toBe(want.length);
  const [g, w] = [bits(got), bits(want)];
  const i = g.findIndex((v, k) => v !== w[k]);
  if (i >= 0) throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (bitwise)`);
}

function range(a: Float32Array, t: { offset: number; length: number }): Float32Array {
  return a.slice(t.offset, t.offset + t.length);
}

/** Runs `steps` steps of `opt` from the values in `p` with gradients grads(·, from + s). */
function run(opt: Optimizer, p: F32Buffer, g: F32Buffer, from: number, steps: number, d?: F32Buffer): void {
  for (let s = 0; s < steps; s++) {
    g.write(grads(g.length, from + s));
    opt.step(p, g, d ?? null);
  }
}

// One config of every optimizer type, with options that give it every slot.
const EVERY: OptimizerConfig[] = [
  { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  { type: 'adagrad', lrDecay: 0.01, epsMode: 'inside' },
  { type: 'rmsprop', centered: true, momentum: 0.5, preset: 'keras' },
  { type: 'adadelta', weightDecay: 0.1 },
  { type: 'adam', amsgrad: true, lr: 0.01 },
  { type: 'adamw', maximize: true },
  { type: 'adamax' },
  { type: 'adafactor', beta1: 0.9 },
  { type: 'adafactor', lr: 0.01, relativeStep: false, weightDecay: 0.01 },
  { type: 'lookahead', k: 3, alpha: 0.6, inner: { type: 'adam', lr: 0.01 } },
  // Issue 14 (the run-table optimizers).
  { type: 'radam', lr: 0.01, weightDecay: 0.01 },
  { type: 'nadam', weightDecay: 0.01 },
  { type: 'adabelief', amsgrad: true, weightDecouple: true, weightDecay: 0.01 },
  { type: 'lion', lr: 1e-3, weightDecay: 0.1 },
  { type: 'lamb', lr: 0.01, weightDecay: 0.01 },
  { type: 'lars', lr: 0.1, momentum: 0.9, weightDecay: 1e-3 },
  { type: 'swats', amsgrad: true, nesterov: true, weightDecay: 0.01 },
  { type: 'prodigy', weightDecay: 0.01 },
  { type: 'dadapt_adam', decouple: true, weightDecay: 0.01 },
  { type: 'dadapt_sgd', momentum: 0.9 },
  { type: 'dadapt_adagrad', momentum: 0.5 },
  { type: 'schedulefree_adamw', lr: 0.01, warmupSteps: 3 },
  { type: 'schedulefree_sgd', lr: 0.1, weightDecay: 0.01 },
];

describe('presets and defaults', () => {
  it('the pytorch preset is the default; keras gives the Keras/tfjs defaults; explicit options override', async () => {
    const e = await engine();
    const cfg = (c: OptimizerConfig) => {
      using o = createOptimizer(e, c, 8);
      return o.config as unknown as Record<string, unknown>;
    };
    expect(cfg({ type: 'adagrad' })).toMatchObject({ lr: 1e-2, initialAccumulatorValue: 0, eps: 1e-10, epsMode: 'outside' });
    expect(cfg({ type: 'adagrad', preset: 'pytorch' })).toEqual(cfg({ type: 'adagrad' }));
    expect(cfg({ type: 'adagrad', preset: 'keras' })).toMatchObject({ lr: 1e-3, initialAccumulatorValue: 0.1, eps: 1e-7, epsMode: 'inside', lrDecay: 0, weightDecay: 0 });
    expect(cfg({ type: 'rmsprop' })).toMatchObject({ lr: 1e-2, alpha: 0.99, eps: 1e-8, epsMode: 'outside', lrInMomentum: false });
    expect(cfg({ type: 'rmsprop', preset: 'keras' })).toMatchObject({ lr: 1e-3, alpha: 0.9, eps: 1e-7, epsMode: 'inside', lrInMomentum: true, momentum: 0, centered: false });
    expect(cfg({ type: 'adam' })).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, epsMode: 'outside', amsgrad: false });
    expect(cfg({ type: 'adam', preset: 'keras' })).toMatchObject({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-7, epsMode: 'outside' });
    expect(cfg({ type: 'adamw' })).toMatchObject({ lr: 1e-3, eps: 1e-8, weightDecay: 1e-2 });
    expect(cfg({ type: 'adamw', preset: 'keras' })).toMatchObject({ lr: 1e-3, eps: 1e-7, weightDecay: 4e-3 });
    expect(cfg({ type: 'sgd', lr: 0.1 })).toMatchObject({ lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maximize: false });
    expect(cfg({ type: 'adamax' })).toMatchObject({ lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(cfg({ type: 'adadelta' })).toMatchObject({ lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0 });
    const af = cfg({ type: 'adafactor' });
    expect(af).toMatchObject({ eps: [1e-30, 1e-3], clipThreshold: 1, decayRate: -0.8, weightDecay: 0, scaleParameter: true, relativeStep: true, warmupInit: false });
    expect('lr' in af || 'beta1' in af).toBe(false);
    expect(cfg({ type: 'adafactor', lr: 0.01, relativeStep: false })).toMatchObject({ lr: 0.01, relativeStep: false });
    expect(cfg({ type: 'adafactor', lr: 0.01 })).toMatchObject({ lr: 0.01, relativeStep: false }); // relativeStep: true exactly when lr is absent
    expect(cfg({ type: 'lookahead', inner: 'adam' })).toMatchObject({ k: 5, alpha: 0.5, inner: { type: 'adam', lr: 1e-3 } });
    // Explicit options win over the preset, whichever it is.
    expect(cfg({ type: 'rmsprop', preset: 'keras', eps: 1e-5, epsMode: 'outside' })).toMatchObject({ lr: 1e-3, alpha: 0.9, eps: 1e-5, epsMode: 'outside', lrInMomentum: true });
    expect(cfg({ type: 'adagrad', preset: 'keras', lr: 0.5, initialAccumulatorValue: 0 })).toMatchObject({ lr: 0.5, initialAccumulatorValue: 0, eps: 1e-7 });
    expect(cfg({ type: 'adam', preset: 'keras', eps: 1e-8 })).toMatchObject({ eps: 1e-8 });
    // A config from `config` builds the same optimizer again.
    for (const c of EVERY) expect(cfg(cfg(c) as unknown as OptimizerConfig)).toEqual(cfg(c));
  });

  it('a lookahead reads and sets its inner optimizer\'s rate; a relative-step Adafactor computes its own', async () => {
    const e = await engine();
    using la = createOptimizer(e, { type: 'lookahead', inner: { type: 'sgd', lr: 0.1 } }, 8);
    expect(la.lr).toBe(0.1);
    la.lr = 0.02;
    expect((la.config as { inner: { lr: number } }).inner.lr).toBe(0.02);
    using af = createOptimizer(e, 'adafactor', 8);
    expect(af.lr).toBe(1e-2);
    expect(() => (af.lr = 0.1)).toThrow(/Adafactor: lr is computed by relativeStep/);
  });
});

describe('bad options', () => {
  const BAD: [unknown, RegExp][] = [
    [{ type: 'adam', lr: -1 }, /^Adam: lr must be in \[0, Infinity\], got -1$/],
    [{ type: 'adam', betas: [0.9, 1] }, /^Adam: betas\[1\] must be in \[0, 1\), got 1$/],
    [{ type: 'adam', betas: [-0.1, 0.9] }, /^Adam: betas\[0\] must be in \[0, 1\), got -0.1$/],
    [{ type: 'adam', betas: 0.9 }, /^Adam: betas must be a pair \[beta1, beta2\], got 0.9$/],
    [{ type: 'adamw', eps: 0 }, /^AdamW: eps must be in \(0, Infinity\], got 0$/],
    [{ type: 'adagrad', eps: -1e-8 }, /^Adagrad: eps must be in \(0, Infinity\], got -1e-8$/],
    [{ type: 'rmsprop', momentum: -0.5 }, /^RMSprop: momentum must be in \[0, Infinity\], got -0.5$/],
    [{ type: 'rmsprop', alpha: 1.5 }, /^RMSprop: alpha must be in \[0, 1\], got 1.5$/],
    [{ type: 'rmsprop', centred: true }, /^RMSprop: unknown option 'centred' \(known: preset, lr, alpha, eps, weightDecay, momentum, centered, maximize, epsMode, lrInMomentum, paramGroups\)$/],
    [{ type: 'rmsprop', epsMode: 'between' }, /^RMSprop: epsMode must be one of 'outside', 'inside', got "between"$/],
    [{ type: 'adagrad', preset: 'tf' }, /^Adagrad: preset must be one of 'pytorch', 'keras', got "tf"$/],
    [{ type: 'adam', amsgrad: 1 }, /^Adam: amsgrad must be a boolean, got 1$/],
    [{ type: 'nadamw' }, /^optimizer: unknown type "nadamw" \(known: sgd, adagrad, rmsprop, adadelta, adam, adamw, adamax, adafactor, radam, nadam, adabelief, lion, lamb, lars, swats, prodigy, dadapt_adam, dadapt_sgd, dadapt_adagrad, schedulefree_adamw, schedulefree_sgd, lookahead\)$/],
    ['adamm', /^optimizer: unknown type "adamm" \(known: /],
    [42, /^optimizer: expected a config like \{ type: 'adam' \} or a name, got 42$/],
    ['sgd', /^SGD: lr is required \(PyTorch's SGD has no default rate\), got undefined$/],
    [{ type: 'sgd', lr: 0.1, nesterov: true }, /^SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0$/],
    [{ type: 'sgd', lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }, /^SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0.9 and dampening 0.1$/],
    [{ type: 'sgd', lr: 0.1, dampening: 2 }, /^SGD: dampening must be in \[0, 1\], got 2$/],
    [{ type: 'adadelta', rho: -0.1 }, /^Adadelta: rho must be in \[0, 1\], got -0.1$/],
    [{ type: 'adamax', weightDecay: -1 }, /^Adamax: weightDecay must be in \[0, Infinity\], got -1$/],
    [{ type: 'adafactor', lr: 0.01, relativeStep: true }, /^Adafactor: lr 0.01 cannot be combined with relativeStep true \(set relativeStep: false\)$/],
    [{ type: 'adafactor', relativeStep: false }, /^Adafactor: relativeStep false needs an lr, got undefined$/],
    [{ type: 'adafactor', lr: 0.01, relativeStep: false, warmupInit: true }, /^Adafactor: warmupInit true requires relativeStep true$/],
    [{ type: 'adafactor', eps: [0, 1e-3] }, /^Adafactor: eps\[0\] must be in \(0, Infinity\], got 0$/],
    [{ type: 'adafactor', beta1: 1 }, /^Adafactor: beta1 must be in \[0, 1\), got 1$/],
    [{ type: 'adafactor', clipThreshold: 0 }, /^Adafactor: clipThreshold must be in \(0, Infinity\], got 0$/],
    [{ type: 'adafactor', decayRate: 0.5 }, /^Adafactor: decayRate must be in \[-Infinity, 0\], got 0.5$/],
    [{ type: 'lookahead', inner: 'lookahead' }, /^Lookahead: inner cannot be another lookahead$/],
    [{ type: 'radam', betas: [0.9, 1] }, /^RAdam: betas\[1\] must be in \[0, 1\), got 1$/],
    [{ type: 'nadam', momentumDecay: -1 }, /^NAdam: momentumDecay must be in \[0, Infinity\], got -1$/],
    [{ type: 'adabelief', fixedDecay: true }, /^AdaBelief: fixedDecay true requires weightDecouple true$/],
    [{ type: 'lion', betas: [0.9, 1.5] }, /^Lion: betas\[1\] must be in \[0, 1\], got 1.5$/],
    [{ type: 'lion', lr: 0, decoupledWeightDecay: true }, /^Lion: decoupledWeightDecay divides by the initial lr, which must be > 0, got 0$/],
    [{ type: 'lamb', clampValue: -1 }, /^Lamb: clampValue must be in \[0, Infinity\], got -1$/],
    [{ type: 'lamb', excludeFromAdaptation: '*.bias' }, /^Lamb: excludeFromAdaptation must be an array of tensor name patterns like \['\*\.bias'\], got "\*\.bias"$/],
    [{ type: 'lars', nesterov: true }, /^LARS: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0$/],
    [{ type: 'swats', eps: 0 }, /^SWATS: eps must be in \(0, Infinity\], got 0$/],
    [{ type: 'swats', betas: [0.9, 1] }, /^SWATS: betas\[1\] must be in \[0, 1\), got 1$/],
    [{ type: 'swats', nesterov: 'yes' }, /^SWATS: nesterov must be a boolean, got "yes"$/],
    [{ type: 'prodigy', d0: 0 }, /^Prodigy: d0 must be in \(0, Infinity\], got 0$/],
    [{ type: 'prodigy', growthRate: 0.5 }, /^Prodigy: growthRate must be in \[1, Infinity\], got 0.5$/],
    [{ type: 'prodigy', beta3: 1 }, /^Prodigy: beta3 must be in \[0, 1\), got 1$/],
    [{ type: 'dadapt_adam', decoupled: true }, /^DAdaptAdam: unknown option 'decoupled' \(known: /],
    [{ type: 'dadapt_sgd', momentum: 1 }, /^DAdaptSGD: momentum must be in \[0, 1\), got 1$/],
    [{ type: 'dadapt_adagrad', eps: 0 }, /^DAdaptAdagrad: eps must be in \(0, Infinity\], got 0$/],
    [{ type: 'schedulefree_adamw', warmupSteps: 1.5 }, /^ScheduleFreeAdamW: warmupSteps must be/],
    [{ type: 'schedulefree_adamw', betas: [0, 0.999] }, /^ScheduleFreeAdamW: betas\[0\] must be > 0 \(eval divides by it\), got 0$/],
    [{ type: 'schedulefree_sgd', momentum: 0 }, /^ScheduleFreeSGD: momentum must be in \(0, 1\), got 0$/],
    [{ type: 'lookahead', inner: { type: 'adam', paramGroups: [] } }, /^Lookahead: set paramGroups on the lookahead config, not on inner/],
    [{ type: 'lookahead', inner: { type: 'adam', lr: -1 } }, /^Adam: lr must be in \[0, Infinity\], got -1$/],
    [{ type: 'lookahead', inner: 'adam', k: 0 }, /^Lookahead: k must be in \[1, ∞\], got 0$/],
    [{ type: 'lookahead', inner: 'adam', alpha: 2 }, /^Lookahead: alpha must be in \[0, 1\], got 2$/],
    [{ type: 'lookahead', inner: 'adam', lr: 0.1 }, /^Lookahead: unknown option 'lr' \(known: k, alpha, inner, paramGroups\)$/],
    [{ type: 'lookahead' }, /^Lookahead: inner must be an optimizer config like \{ type: 'adam' \} or a name, got undefined$/],
    [{ type: 'adam', paramGroups: {} }, /^Adam: paramGroups must be an array of groups, got Object$/],
    [{ type: 'adam', paramGroups: [{ params: [] }] }, /^Adam: paramGroups\[0\].params must be a name pattern or a non-empty array of them, got \[\]$/],
    [{ type: 'adam', paramGroups: [{ params: '*', lr: 0.1 }] }, /^Adam: paramGroups\[0\] has unknown option 'lr' \(known: params, lrScale, weightDecayScale, frozen\)$/],
    [{ type: 'adam', paramGroups: [{ params: '*', lrScale: -1 }] }, /^Adam: paramGroups\[0\].lrScale must be in \[0, Infinity\], got -1$/],
    [{ type: 'adam', paramGroups: [{ params: '*', frozen: 'yes' }] }, /^Adam: paramGroups\[0\].frozen must be a boolean, got "yes"$/],
    [
      { type: 'adam', paramGroups: [{ params: ['*.bias', '1.*'] }] },
      /^Adam: paramGroups pattern '1\.\*' matches no parameter \(known: 0\.weight, 0\.bias, 3\.weight, 3\.bias\)$/,
    ],
  ];

  it('every bad option throws its message and allocates nothing', async () => {
    const e = await engine();
    using m = model(e);
    const before = e.liveBytes();
    for (const [cfg, msg] of BAD) {
      expect(() => e.optimizer(cfg as OptimizerConfig, m), JSON.stringify(cfg)).toThrow(msg);
      expect(e.liveBytes(), JSON.stringify(cfg)).toBe(before);
    }
  });

  it('step and lr refuse what does not fit', async () => {
    const e = await engine();
    using o = e.optimizer('adam', 8);
    using p = e.alloc(8);
    using g = e.alloc(7);
    expect(() => o.step(p, g)).toThrow(/^Adam\.step: grads has 7 values, this optimizer was built for 8$/);
    expect(() => o.step(p, p, g)).toThrow(/^Adam\.step: delta has 7 values, this optimizer was built for 8$/);
    expect(() => (o.lr = -0.1)).toThrow(/^Adam: lr must be in \[0, Infinity\], got -0.1$/);
    expect(o.steps).toBe(0);
  });
});

describe('parameter groups', () => {
  it('layout: a bare size is one tensor "params"; a model gives its tensors with groups resolved', async () => {
    const e = await engine();
    using bare = e.optimizer('adam', 10);
    expect(bare.layout).toEqual([{ name: 'params', offset: 0, length: 10, shape: [10], group: null, lrScale: 1, weightDecayScale: 1, frozen: false }]);
    using m = model(e);
    using o = e.optimizer({ type: 'adam', paramGroups: [{ params: '*.bias', weightDecayScale: 0 }, { params: '0.*', frozen: true }] }, m);
    expect(o.layout.map((t) => [t.name, t.offset, t.length, t.shape, t.group, t.frozen, t.weightDecayScale])).toEqual([
      ['0.weight', 0, 54, [3, 2, 3, 3], 1, true, 1],
      ['0.bias', 56, 3, [3], 0, false, 0], // the first matching group wins
      ['3.weight', 60, 135, [5, 27], null, false, 1],
      ['3.bias', 196, 5, [5], 0, false, 0],
    ]);
    expect(o.size).toBe(204);
  });

  it('lrScale 0.5 on a tensor gives exactly the update of lr/2 there (SGD with momentum)', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    const n = p0.length;
    using g = e.alloc(n);
    const after = (cfg: OptimizerConfig) => {
      using p = e.tensor(p0);
      using o = e.optimizer(cfg, m);
      run(o, p, g, 0, 7);
      return p.read();
    };
    const grouped = after({ type: 'sgd', lr: 0.1, momentum: 0.9, paramGroups: [{ params: '0.*', lrScale: 0.5 }] });
    const half = after({ type: 'sgd', lr: 0.05, momentum: 0.9 });
    const full = after({ type: 'sgd', lr: 0.1, momentum: 0.9 });
    for (const t of m._paramLayout()) {
      expectBitwise(range(grouped, t), range(t.name.startsWith('0') ? half : full, t), t.name);
    }
    expect(bits(range(grouped, m._paramLayout()[0]))).not.toEqual(bits(range(full, m._paramLayout()[0])));
  });

  it('weightDecayScale scales the decay of its tensors only', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    using g = e.alloc(p0.length);
    const after = (cfg: OptimizerConfig) => {
      using p = e.tensor(p0);
      using o = e.optimizer(cfg, m);
      run(o, p, g, 0, 5);
      return p.read();
    };
    const grouped = after({ type: 'adam', weightDecay: 0.1, paramGroups: [{ params: '*.bias', weightDecayScale: 0 }] });
    const decayed = after({ type: 'adam', weightDecay: 0.1 });
    const plain = after({ type: 'adam', weightDecay: 0 });
    for (const t of m._paramLayout()) expectBitwise(range(grouped, t), range(t.name.endsWith('.bias') ? plain : decayed, t), t.name);
  });

  it('frozen tensors keep their parameters and slots bitwise, and get delta 0; padding stays zero', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    const layout = m._paramLayout();
    const frozen = layout.filter((t) => t.name.endsWith('.bias'));
    for (const cfg of EVERY) {
      using p = e.tensor(p0);
      using g = e.alloc(p0.length);
      using d = e.alloc(p0.length);
      d.write(new Float32Array(p0.length).fill(7));
      using o = e.optimizer({ ...cfg, paramGroups: [{ params: '*.bias', frozen: true }] } as OptimizerConfig, m);
      const slots0 = o.state();
      run(o, p, g, 0, 6, d);
      const [p1, d1, slots1] = [p.read(), d.read(), o.state()];
      const what = `${cfg.type} ${JSON.stringify(cfg)}`;
      for (const t of frozen) {
        expectBitwise(range(p1, t), range(p0, t), `${what}: ${t.name}`);
        expect(Array.from(range(d1, t)).every((v) => Object.is(v, 0)), `${what}: delta of ${t.name}`).toBe(true);
        for (const [k, v] of Object.entries(slots1)) {
          if (v.length === p0.length) expectBitwise(range(v, t), range(slots0[k], t), `${what}: slot ${k} of ${t.name}`);
        }
      }
      // Padding (between and after tensors) is never written, whatever the gradients hold there.
      const inTensor = new Uint8Array(p0.length);
      for (const t of layout) inTensor.fill(1, t.offset, t.offset + t.length);
      for (let i = 0; i < p0.length; i++) {
        if (!inTensor[i]) expect(Object.is(p1[i], 0) && Object.is(d1[i], 0), `${what}: padding element ${i}`).toBe(true);
      }
      // The others moved.
      expect(bits(range(p1, layout[0]))).not.toEqual(bits(range(p0, layout[0])));
    }
  });
});

describe('delta', () => {
  it('equals p_after − p_before bitwise for every optimizer (lookahead sync steps included)', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    for (const cfg of EVERY) {
      using p = e.tensor(p0);
      using g = e.alloc(p0.length);
      using d = e.alloc(p0.length);
      using o = e.optimizer({ ...cfg, paramGroups: [{ params: '3.bias', frozen: true }] } as OptimizerConfig, m);
      for (let t = 1; t <= 7; t++) {
        const before = p.read();
        g.write(grads(p0.length, t));
        d.write(noise(p0.length, 50 + t)); // stale values must all be overwritten
        o.step(p, g, d);
        const after = p.read();
        const want = after.map((v, i) => v - before[i]);
        expectBitwise(d.read(), want, `${cfg.type} step ${t}`);
      }
    }
  });

  it('asking for delta does not change the trajectory', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    for (const cfg of EVERY) {
      const trajectory = (withDelta: boolean) => {
        using p = e.tensor(p0);
        using g = e.alloc(p0.length);
        using d = e.alloc(p0.length);
        using o = e.optimizer(cfg, m);
        run(o, p, g, 0, 7, withDelta ? d : undefined);
        return p.read();
      };
      expectBitwise(trajectory(true), trajectory(false), cfg.type);
    }
  });
});

describe('saveState / loadState', () => {
  it('20 steps, save, load into a fresh optimizer, 30 more == 50 straight steps, bitwise, for every optimizer', async () => {
    const e = await engine();
    using m = model(e);
    const p0 = m._buffers.params.read();
    const n = p0.length;
    const before = e.liveBytes();
    for (const cfg of EVERY) {
      const settable = !(cfg.type === 'adafactor' && !('lr' in cfg));
      const schedule = (o: Optimizer, t: number) => {
        if (settable && t === 10) o.lr = o.lr * 0.5; // a changed rate is part of the state
      };
      using g = e.alloc(n);
      // Straight through.
      using p = e.tensor(p0);
      {
        using o = e.optimizer(cfg, m);
        for (let t = 0; t < 50; t++) {
          schedule(o, t);
          run(o, p, g, t, 1);
        }
      }
      // Stop after 20, save (through structured cloning, as a worker or IndexedDB would), resume in another.
      using q = e.tensor(p0);
      let saved: OptimizerState;
      {
        using o = e.optimizer(cfg, m);
        for (let t = 0; t < 20; t++) {
          schedule(o, t);
          run(o, q, g, t, 1);
        }
        saved = structuredClone(o.saveState());
      }
      expect(saved.format).toBe('wasmcnn.optimizer');
      expect(saved.version).toBe(1);
      expect(saved.type).toBe(cfg.type);
      expect(saved.steps).toBe(20);
      if (cfg.type === 'lookahead') expect(Object.keys(saved.slots)).toEqual(['slow']), expect(saved.inner?.type).toBe('adam');
      {
        using o = e.optimizer(cfg, m);
        o.loadState(saved);
        expect(o.steps).toBe(20);
        for (let t = 20; t < 50; t++) {
          schedule(o, t);
          run(o, q, g, t, 1);
        }
      }
      expectBitwise(q.read(), p.read(), `${cfg.type} ${JSON.stringify(cfg)}`);
    }
    expect(e.liveBytes()).toBe(before);
  });

  it('a state of another config, type or shape is refused and the optimizer is unchanged', async () => {
    const e = await engine();
    using m = model(e);
    const n = m._buffers.params.length;
    using p = e.tensor(m._buffers.params.read());
    using g = e.alloc(n);
    using o = e.optimizer({ type: 'lookahead', inner: { type: 'adam', amsgrad: true } }, m);
    run(o, p, g, 0, 3);
    const good = o.saveState();
    using other = e.optimizer({ type: 'lookahead', inner: { type: 'adam', amsgrad: true } }, m);
    run(other, p, g, 10, 7);
    other.lr = 0.5;
    const snapshot = () => JSON.stringify(o.saveState(), (_, v) => (v instanceof Float32Array ? bits(v) : v));
    const s0 = snapshot();
    const st = other.saveState();
    const bad: [OptimizerState, RegExp][] = [
      [{ ...st, format: 'x' } as unknown as OptimizerState, /^Lookahead\.loadState: format must be 'wasmcnn\.optimizer', got "x"$/],
      [{ ...st, version: 2 } as unknown as OptimizerState, /^Lookahead\.loadState: unsupported version 2/],
      [{ ...st, type: 'adam' }, /^Lookahead\.loadState: the state is of a 'adam' optimizer, this one is 'lookahead'$/],
      [{ ...st, config: { ...st.config, k: 6 } as OptimizerConfig }, /^Lookahead\.loadState: the state's config differs from this optimizer's \(lr aside\): config\.k is 6 there, 5 here$/],
      [{ ...st, slots: { slow: new Float32Array(n - 1) } }, /^Lookahead\.loadState: slot 'slow' has 203 values, expected 204$/],
      [{ ...st, slots: {} }, /^Lookahead\.loadState: the state has slots \[\], this optimizer has \[slow\]$/],
      [{ ...st, inner: { ...st.inner!, slots: { ...st.inner!.slots, exp_avg: new Float32Array(3) } } }, /^Lookahead\.loadState \(inner\): slot 'exp_avg' has 3 values, expected 204$/],
      [
        { ...st, inner: { ...st.inner!, config: { ...st.inner!.config, amsgrad: false } as OptimizerConfig } },
        /^Lookahead\.loadState \(inner\): the state's config differs from this optimizer's \(lr aside\): config\.amsgrad is false there, true here$/,
      ],
      [{ ...st, inner: undefined }, /^Lookahead\.loadState: a lookahead state needs the inner optimizer's state, got undefined$/],
      [{ ...st, steps: -1 }, /^Lookahead\.loadState: steps must be in \[0, ∞\], got -1$/],
      // Same slot lengths, other tensors (another model with as many parameters): refused by name and shape.
      [
        { ...st, tensors: st.tensors.map((t, i) => (i === 0 ? { name: t.name, shape: [...t.shape].reverse() } : t)) },
        /^Lookahead\.loadState: the state was saved for other parameter tensors: #0 is \S+ \[[\d, ]+\] there, \S+ \[[\d, ]+\] here$/,
      ],
      [{ ...st, tensors: st.tensors.slice(1) }, /^Lookahead\.loadState: the state was saved for other parameter tensors: #0 is/],
    ];
    for (const [s, msg] of bad) {
      expect(() => o.loadState(s)).toThrow(msg);
      expect(snapshot()).toBe(s0);
    }
    // A different lr is not a different config: it is restored.
    o.loadState(st);
    expect(o.lr).toBe(0.5);
    expect(o.steps).toBe(7);
    o.loadState(good);
    expect(snapshot()).toBe(s0);
    // A plain optimizer refuses a state of another model (named by its first differing tensor).
    using small = e.optimizer({ type: 'lookahead', inner: { type: 'adam', amsgrad: true } }, 8);
    expect(() => small.loadState(good)).toThrow(/^Lookahead\.loadState: the state was saved for other parameter tensors: #0 is 0\.weight \[3, 2, 3, 3\] there, params \[8\] here$/);
  });
});
